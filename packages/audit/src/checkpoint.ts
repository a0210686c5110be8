import { createHash, createPublicKey, sign as edSign, verify as edVerify, type KeyObject } from 'node:crypto';
import { AuditInputError } from './audit-errors.js';
import { canonicalJson } from './hash-chain.js';

/**
 * A signed chain head. The signature covers {@link checkpointPayload}: canonical JSON (sorted
 * keys, no spaces, UTF-8) of
 * `{"at":<ISO-8601 UTC ms>,"chain":<chain>,"headHash":<64 hex>,"seq":<int>,"type":"byok-audit-checkpoint","v":1}`,
 * signed with Ed25519 (RFC 8032, pure, no pre-hash).
 */
export interface SignedCheckpoint {
  chain: string;
  seq: number;
  /** Hash (lowercase hex) of the event at `seq`. */
  headHash: string;
  at: string;
  /** base64 Ed25519 signature over the payload. */
  signature: string;
  /** {@link keyIdOf} the signing key. */
  keyId: string;
}

/** Signs checkpoints; the private key never leaves it. */
export interface CheckpointSigner {
  keyId: string;
  publicKeyPem: string;
  sign(payload: Buffer): Buffer;
}

/** The exact bytes a checkpoint signature covers. */
export function checkpointPayload(cp: Pick<SignedCheckpoint, 'chain' | 'seq' | 'headHash' | 'at'>): Buffer {
  return Buffer.from(
    canonicalJson({
      at: cp.at,
      chain: cp.chain,
      headHash: cp.headHash,
      seq: cp.seq,
      type: 'byok-audit-checkpoint',
      v: 1,
    }),
    'utf8',
  );
}

/** Key id of an Ed25519 public key: first 16 hex chars of SHA-256 over its SPKI DER encoding. */
export function keyIdOf(publicKey: KeyObject): string {
  const der = publicKey.export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(der).digest('hex').slice(0, 16);
}

/** A signer over an Ed25519 private key object. */
export function createCheckpointSigner(privateKey: KeyObject): CheckpointSigner {
  if (privateKey.asymmetricKeyType !== 'ed25519') throw new AuditInputError('checkpoint key must be Ed25519');
  const pub = createPublicKey(privateKey);
  return {
    keyId: keyIdOf(pub),
    publicKeyPem: pub.export({ type: 'spki', format: 'pem' }).toString(),
    sign: (payload) => edSign(null, payload, privateKey),
  };
}

/** Signs a chain head. */
export function signCheckpoint(
  signer: CheckpointSigner,
  head: { chain: string; seq: number; headHash: string; at: Date },
): SignedCheckpoint {
  const body = { chain: head.chain, seq: head.seq, headHash: head.headHash, at: head.at.toISOString() };
  return { ...body, signature: signer.sign(checkpointPayload(body)).toString('base64'), keyId: signer.keyId };
}

/** Why a checkpoint signature check failed, or `undefined` when it is valid. */
export function checkpointSignatureProblem(
  cp: SignedCheckpoint,
  publicKey: KeyObject,
): 'unknown-key' | 'bad-signature' | undefined {
  if (cp.keyId !== keyIdOf(publicKey)) return 'unknown-key';
  let ok = false;
  try {
    ok = edVerify(null, checkpointPayload(cp), publicKey, Buffer.from(cp.signature, 'base64'));
  } catch {
    ok = false;
  }
  return ok ? undefined : 'bad-signature';
}
