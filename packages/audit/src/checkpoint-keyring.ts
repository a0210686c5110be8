import { createPublicKey, type KeyObject } from 'node:crypto';
import { AuditInputError } from './audit-errors.js';
import { checkpointSignatureProblem, keyIdOf, type SignedCheckpoint } from './checkpoint.js';

/** A public key trusted to sign checkpoints during [validFrom, validUntil] (null = unbounded). */
export interface TrustedKey {
  keyId: string;
  algorithm: 'Ed25519';
  publicKey: KeyObject;
  publicKeyPem: string;
  validFrom: Date | null;
  validUntil: Date | null;
}

/** Trusted checkpoint keys by key id. */
export type Keyring = ReadonlyMap<string, TrustedKey>;

/** One keyring entry as JSON (the `GET /v1/audit/public-keys` items and the keyring file). */
export interface KeyringEntryJson {
  keyId?: string;
  algorithm?: string;
  publicKeyPem: string;
  validFrom?: string | null;
  validUntil?: string | null;
}

/** Why a checkpoint's signature is not trusted, or undefined when it is. */
export type KeyringProblem = 'unknown-key' | 'bad-signature' | 'key-not-valid';

/** A trusted key from a PEM (SPKI) public key and its validity period. */
export function trustedKey(
  pem: string | KeyObject,
  validity: { validFrom?: Date | null; validUntil?: Date | null } = {},
): TrustedKey {
  const publicKey = typeof pem === 'string' ? createPublicKey(pem) : pem;
  if (publicKey.asymmetricKeyType !== 'ed25519')
    throw new AuditInputError('a checkpoint key must be Ed25519');
  return {
    keyId: keyIdOf(publicKey),
    algorithm: 'Ed25519',
    publicKey,
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    validFrom: validity.validFrom ?? null,
    validUntil: validity.validUntil ?? null,
  };
}

/** A keyring of the given keys, each valid without bounds (what `--public-key` means). */
export function keyringOf(keys: readonly (TrustedKey | KeyObject)[]): Keyring {
  const ring = new Map<string, TrustedKey>();
  for (const k of keys) {
    const t = 'keyId' in k ? k : trustedKey(k);
    ring.set(t.keyId, t);
  }
  return ring;
}

/** Merges keyrings; for a key id in several, the later ring's validity wins. */
export function mergeKeyrings(...rings: Keyring[]): Keyring {
  const out = new Map<string, TrustedKey>();
  for (const r of rings) for (const [id, k] of r) out.set(id, k);
  return out;
}

function date(v: unknown, what: string): Date | null {
  if (v === undefined || v === null) return null;
  if (typeof v !== 'string' || Number.isNaN(Date.parse(v)))
    throw new AuditInputError(`${what} must be an ISO date`);
  return new Date(v);
}

/**
 * Parses a keyring file: `{"keys":[{publicKeyPem, validFrom?, validUntil?, keyId?}]}` (the shape
 * `GET /v1/audit/public-keys` answers) or a bare array of such entries. A stated `keyId` must match
 * the key, so a hand-edited file cannot relabel one key as another.
 */
export function parseKeyring(text: string): Keyring {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new AuditInputError('the keyring is not JSON');
  }
  const list = Array.isArray(parsed) ? parsed : (parsed as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(list)) throw new AuditInputError('the keyring must be {"keys":[...]} or an array');
  const ring = new Map<string, TrustedKey>();
  list.forEach((raw: unknown, i) => {
    const e = raw as KeyringEntryJson;
    if (typeof e !== 'object' || e === null || typeof e.publicKeyPem !== 'string')
      throw new AuditInputError(`keyring entry ${i}: publicKeyPem is required`);
    if (e.algorithm !== undefined && e.algorithm !== 'Ed25519')
      throw new AuditInputError(`keyring entry ${i}: only Ed25519 keys are supported`);
    let key: TrustedKey;
    try {
      key = trustedKey(e.publicKeyPem, {
        validFrom: date(e.validFrom, `keyring entry ${i}: validFrom`),
        validUntil: date(e.validUntil, `keyring entry ${i}: validUntil`),
      });
    } catch (err) {
      if (err instanceof AuditInputError) throw err;
      throw new AuditInputError(`keyring entry ${i}: not a PEM public key`);
    }
    if (e.keyId !== undefined && e.keyId !== key.keyId)
      throw new AuditInputError(`keyring entry ${i}: keyId ${e.keyId} does not match its key (${key.keyId})`);
    ring.set(key.keyId, key);
  });
  return ring;
}

/** A keyring entry as JSON (never anything private: the PEM is the SPKI public key). */
export function keyringEntryJson(k: TrustedKey): Required<KeyringEntryJson> {
  return {
    keyId: k.keyId,
    algorithm: k.algorithm,
    publicKeyPem: k.publicKeyPem,
    validFrom: k.validFrom?.toISOString() ?? null,
    validUntil: k.validUntil?.toISOString() ?? null,
  };
}

/**
 * Checks a checkpoint against a keyring: its key must be in the ring, the signature valid, and
 * the signed time `at` inside the key's validity period (a retired key cannot sign new checkpoints;
 * `at` is covered by the signature).
 */
export function keyringProblem(cp: SignedCheckpoint, keyring: Keyring): KeyringProblem | undefined {
  const key = keyring.get(cp.keyId);
  if (!key) return 'unknown-key';
  const problem = checkpointSignatureProblem(cp, key.publicKey);
  if (problem) return problem;
  const at = Date.parse(cp.at);
  if (key.validFrom && at < key.validFrom.getTime()) return 'key-not-valid';
  if (key.validUntil && at > key.validUntil.getTime()) return 'key-not-valid';
  return undefined;
}
