import { createPrivateKey, generateKeyPairSync, hkdfSync, randomBytes, type KeyObject } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { createCheckpointSigner, type CheckpointSigner } from '@byok/audit';
import { AppError } from '../../errors.js';
import type { Logger } from '../../logger.js';

/** The audit signing key as the service uses it. */
export interface AuditSigningKey {
  signer: CheckpointSigner;
  /**
   * The key SIEM sink secrets were sealed under before SINK_SECRET_KEY_FILE existed (HKDF-SHA-256
   * of the signing key, info `byok audit sink secret v1`). Used only to re-seal such sinks once.
   */
  legacySinkSecretKey: Buffer;
}

/** Reads `path`, or undefined when it does not exist and may be generated. */
async function readOptional(path: string, required: boolean): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if (required || (err as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new AppError('INTERNAL', `cannot read the key file ${path}`, { cause: err });
    }
    return undefined;
  }
}

/** Writes a new key file (0600) unless another instance on the same DATA_DIR just did; returns what is stored. */
async function writeNew(path: string, content: string): Promise<string> {
  await mkdir(dirname(path), { recursive: true });
  try {
    await writeFile(path, content, { mode: 0o600, flag: 'wx' });
    return content;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    return readFile(path, 'utf8');
  }
}

/**
 * Loads the Ed25519 key from `file` (PKCS#8 PEM). In production the file is required: every
 * instance signs with the one shared key, so checkpoints verify everywhere. Outside production,
 * without a file, the key lives in `<dataDir>/audit-signing-key.pem`, generated on first start.
 */
export async function loadAuditSigningKey(opts: {
  file: string | undefined;
  dataDir: string;
  production: boolean;
  logger: Logger;
}): Promise<AuditSigningKey> {
  if (opts.production && !opts.file) {
    throw new AppError(
      'INTERNAL',
      'AUDIT_SIGNING_KEY_FILE is required in production: one Ed25519 key shared by every instance',
    );
  }
  const path = opts.file ?? join(opts.dataDir, 'audit-signing-key.pem');
  let pem = await readOptional(path, opts.file !== undefined);
  if (pem === undefined) {
    const fresh = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' });
    pem = await writeNew(path, fresh.toString());
    opts.logger.warn(
      { path },
      'AUDIT_SIGNING_KEY_FILE not set: generated an Ed25519 audit checkpoint signing key under DATA_DIR (development only)',
    );
  }
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(pem);
  } catch (err) {
    throw new AppError('INTERNAL', `the audit signing key in ${path} is not a PEM private key`, {
      cause: err,
    });
  }
  const signer = createCheckpointSigner(privateKey);
  opts.logger.info({ keyId: signer.keyId }, 'audit checkpoint signing key loaded');
  const der = privateKey.export({ type: 'pkcs8', format: 'der' });
  const legacySinkSecretKey = Buffer.from(
    hkdfSync('sha256', der, 'byok-audit', 'byok audit sink secret v1', 32),
  );
  return { signer, legacySinkSecretKey };
}

/**
 * Parses a 32-byte symmetric key file: hex (64 digits), base64, or a PEM whose body is the
 * base64 of the 32 bytes (any label). Anything else is refused rather than stretched.
 */
export function parseSymmetricKey(text: string, path: string): Buffer {
  const t = text.trim();
  let candidate: Buffer;
  if (/^-----BEGIN [A-Z0-9 ]+-----/.test(t)) {
    const body = t
      .split(/\r?\n/)
      .filter((l) => !l.startsWith('-----'))
      .join('');
    candidate = Buffer.from(body, 'base64');
  } else if (/^[0-9a-fA-F]{64}$/.test(t)) candidate = Buffer.from(t, 'hex');
  else if (/^[A-Za-z0-9+/_-]{42,44}={0,2}$/.test(t)) candidate = Buffer.from(t, 'base64');
  else candidate = Buffer.alloc(0);
  if (candidate.length !== 32)
    throw new AppError('INTERNAL', `the key in ${path} must be 32 random bytes (hex, base64 or PEM)`);
  return candidate;
}

/**
 * Loads the key that seals SIEM sink secrets, its own key and never one derived from the signing
 * key (so rotating the signing key loses no sink). Required in production; in development it is
 * generated under `<dataDir>/audit-sink-secret.key` on first start.
 */
export async function loadSinkSecretKey(opts: {
  file: string | undefined;
  dataDir: string;
  production: boolean;
  logger: Logger;
}): Promise<Buffer> {
  if (opts.production && !opts.file) {
    throw new AppError('INTERNAL', 'SINK_SECRET_KEY_FILE is required in production');
  }
  const path = opts.file ?? join(opts.dataDir, 'audit-sink-secret.key');
  let text = await readOptional(path, opts.file !== undefined);
  if (text === undefined) {
    text = await writeNew(path, `${randomBytes(32).toString('base64')}\n`);
    opts.logger.warn(
      { path },
      'SINK_SECRET_KEY_FILE not set: generated the SIEM sink secret key under DATA_DIR (development only)',
    );
  }
  return parseSymmetricKey(text, path);
}
