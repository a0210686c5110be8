import { isWellFormed } from './canonical-context.js';
import { InvalidArgumentError, InvalidCiphertextError, needs } from './errors.js';
import { GCM_IV_BYTES, GCM_TAG_BYTES } from './aes-gcm.js';

/** Format version byte of ciphertext format v1. */
export const FORMAT_V1 = 0x01;
/**
 * Algorithm byte 1: HKDF-SHA-256 (extract and expand) record key + 32-byte commitment, AES-256-GCM,
 * 12-byte IV, 16-byte tag. No longer written; readable forever.
 */
export const ALG_HKDF_SHA256_AES256_GCM_COMMIT = 0x01;
/**
 * Algorithm byte 2, what `seal` writes: the record key and commitment are one HMAC-SHA-512 block,
 * HKDF-Expand only (RFC 5869 section 3.3) over salt and AAD; otherwise as algorithm 1.
 */
export const ALG_EXPAND_SHA512_AES256_GCM_COMMIT = 0x02;
/** Salt length in bytes (fresh per ciphertext). */
export const SALT_BYTES = 32;
/** Key commitment length in bytes. */
export const COMMITMENT_BYTES = 32;
/** Longest tenant id accepted, in UTF-8 bytes. */
export const MAX_TENANT_ID_BYTES = 256;

/** Byte offsets of the v1 layout: version | alg | tkVersion(u32 BE) | salt | iv | commitment | ct | tag. */
export const V1 = {
  version: 0,
  alg: 1,
  tkVersion: 2,
  salt: 6,
  iv: 6 + SALT_BYTES,
  commitment: 6 + SALT_BYTES + GCM_IV_BYTES,
  body: 6 + SALT_BYTES + GCM_IV_BYTES + COMMITMENT_BYTES,
} as const;
/** Header bytes bound into the AAD: everything before the commitment (which is derived from the AAD). */
export const AAD_HEADER_BYTES = V1.commitment;
/** Bytes before the encrypted body. */
export const HEADER_BYTES = V1.body;
/** Smallest well-formed v1 ciphertext (empty plaintext). */
export const MIN_CIPHERTEXT_BYTES = HEADER_BYTES + GCM_TAG_BYTES;

const invalidCiphertext = () => new InvalidCiphertextError();
// Module-level, not per call: the hot path should not allocate a closure per seal/open.
const invalid = (r: string) => new InvalidArgumentError(r);

/** The public fields of a ciphertext header. */
export interface Header {
  version: number;
  alg: number;
  /** Version of the tenant key that sealed this ciphertext: pick the key before calling `open`. */
  tkVersion: number;
}

/** Reads and checks the header of a v1 ciphertext; throws {@link InvalidCiphertextError}. */
export function readHeader(ciphertext: Uint8Array): Header {
  needs(ciphertext instanceof Uint8Array, 'Ciphertext must be bytes', invalidCiphertext);
  needs(
    ciphertext.byteLength >= MIN_CIPHERTEXT_BYTES,
    'Ciphertext must hold a header and a tag',
    invalidCiphertext,
  );
  const version = ciphertext[V1.version] as number;
  const alg = ciphertext[V1.alg] as number;
  needs(version === FORMAT_V1, 'Ciphertext version must be known', invalidCiphertext);
  needs(
    alg === ALG_EXPAND_SHA512_AES256_GCM_COMMIT || alg === ALG_HKDF_SHA256_AES256_GCM_COMMIT,
    'Ciphertext algorithm must be known',
    invalidCiphertext,
  );
  const view = new DataView(ciphertext.buffer, ciphertext.byteOffset, ciphertext.byteLength);
  return { version, alg, tkVersion: view.getUint32(V1.tkVersion, false) };
}

/** Checks a tenant id: a non-empty, well-formed string of at most {@link MAX_TENANT_ID_BYTES} UTF-8 bytes. */
export function checkTenantId(tenantId: string): void {
  needs(typeof tenantId === 'string' && tenantId.length > 0, 'Tenant id must be a non-empty string', invalid);
  needs(isWellFormed(tenantId), 'Tenant id must be well-formed Unicode', invalid);
  needs(
    Buffer.byteLength(tenantId, 'utf8') <= MAX_TENANT_ID_BYTES,
    `Tenant id must be at most ${MAX_TENANT_ID_BYTES} bytes`,
    invalid,
  );
}

/**
 * The canonical AAD: `u32 len | header | u32 len | tenantId UTF-8 | u32 len | context JSON UTF-8`
 * (lengths big-endian). Length prefixes make it unambiguous; it is both the GCM AAD and the KDF info.
 */
export function canonicalAad(header: Uint8Array, tenantId: string, contextJson: string): Buffer {
  const tenantBytes = Buffer.byteLength(tenantId, 'utf8');
  const contextBytes = Buffer.byteLength(contextJson, 'utf8');
  const aad = Buffer.allocUnsafe(12 + header.byteLength + tenantBytes + contextBytes);
  let at = aad.writeUInt32BE(header.byteLength, 0);
  aad.set(header, at);
  at = aad.writeUInt32BE(tenantBytes, at + header.byteLength);
  at += aad.write(tenantId, at, 'utf8');
  at = aad.writeUInt32BE(contextBytes, at);
  aad.write(contextJson, at, 'utf8');
  return aad;
}
