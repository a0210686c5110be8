import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  hkdfSync,
  type KeyObject,
} from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { createCheckpointSigner, type CheckpointSigner } from '@byok/audit';
import { AppError } from '../../errors.js';
import type { Logger } from '../../logger.js';

/** The audit signing key as the service uses it. */
export interface AuditSigningKey {
  signer: CheckpointSigner;
  /** Public keys checkpoints may be verified with, by key id (the current one). */
  publicKeys: ReadonlyMap<string, KeyObject>;
  /**
   * 32-byte key for sealing SIEM sink HMAC secrets, derived by HKDF-SHA-256 from the signing key
   * (info `byok audit sink secret v1`); domain-separated from signing.
   */
  sinkSecretKey: Buffer;
}

/**
 * Loads the Ed25519 key from `file` (PKCS#8 PEM), or, without one, from `<dataDir>/audit-signing-key.pem`,
 * generating it there on first start (mode 0600, logged). Several instances must share one key
 * file, or each signs with its own key.
 */
export async function loadAuditSigningKey(opts: {
  file: string | undefined;
  dataDir: string;
  logger: Logger;
}): Promise<AuditSigningKey> {
  const path = opts.file ?? join(opts.dataDir, 'audit-signing-key.pem');
  let pem: string | undefined;
  try {
    pem = await readFile(path, 'utf8');
  } catch (err) {
    if (opts.file || (err as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new AppError('INTERNAL', `cannot read the audit signing key file ${path}`, { cause: err });
    }
  }
  let privateKey: KeyObject;
  if (pem === undefined) {
    privateKey = generateKeyPairSync('ed25519').privateKey;
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, privateKey.export({ type: 'pkcs8', format: 'pem' }), {
      mode: 0o600,
      flag: 'wx',
    }).catch(async (err: NodeJS.ErrnoException) => {
      // Another instance on the same DATA_DIR won the race: use its key.
      if (err.code !== 'EEXIST') throw err;
      privateKey = createPrivateKey(await readFile(path, 'utf8'));
    });
    opts.logger.warn(
      { path },
      'AUDIT_SIGNING_KEY_FILE not set: generated an Ed25519 audit checkpoint signing key under DATA_DIR; set AUDIT_SIGNING_KEY_FILE to one shared key in production',
    );
  } else {
    try {
      privateKey = createPrivateKey(pem);
    } catch (err) {
      throw new AppError('INTERNAL', `the audit signing key in ${path} is not a PEM private key`, {
        cause: err,
      });
    }
  }
  const signer = createCheckpointSigner(privateKey);
  opts.logger.info({ keyId: signer.keyId }, 'audit checkpoint signing key loaded');
  const der = privateKey.export({ type: 'pkcs8', format: 'der' });
  const sinkSecretKey = Buffer.from(hkdfSync('sha256', der, 'byok-audit', 'byok audit sink secret v1', 32));
  return { signer, publicKeys: new Map([[signer.keyId, createPublicKey(privateKey)]]), sinkSecretKey };
}
