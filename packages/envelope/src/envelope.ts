import { randomBytes, timingSafeEqual } from 'node:crypto';
import { asBuffer, GCM_TAG_BYTES } from './aes-gcm.js';
import type { EnvelopeBackend } from './backend.js';
import { canonicalContext, type Context } from './canonical-context.js';
import { InvalidArgumentError, InvalidCiphertextError, InvalidKeyError, needs } from './errors.js';
import { expandSha512x64 } from './hkdf.js';
import {
  AAD_HEADER_BYTES,
  ALG_EXPAND_SHA512_AES256_GCM_COMMIT,
  ALG_HKDF_SHA256_AES256_GCM_COMMIT,
  canonicalAad,
  checkTenantId,
  FORMAT_V1,
  HEADER_BYTES,
  readHeader,
  V1,
} from './format-v1.js';
import { drawSaltAndIv } from './random-pool.js';

/** Tenant key length in bytes (256 bits). */
export const TENANT_KEY_BYTES = 32;

/** What {@link seal} binds a ciphertext to. */
export interface SealParams {
  tenantId: string;
  /** Version of `tenantKey`, stored in the header (u32). */
  tkVersion: number;
  context?: Context;
}

/** What {@link open} checks a ciphertext against. */
export interface OpenParams {
  tenantId: string;
  context?: Context;
}

const invalidKey = (rule: string) => new InvalidKeyError(rule);
const invalidArgument = (rule: string) => new InvalidArgumentError(rule);

/** Best-effort zeroing of key material; `undefined` is ignored. */
export function zeroize(buf: Uint8Array | undefined): void {
  buf?.fill(0);
}

/** A fresh random 256-bit tenant key. */
export function generateTenantKey(): Buffer {
  return randomBytes(TENANT_KEY_BYTES);
}

/** Algorithm 2's open: derive, check the commitment in constant time, then decrypt; undefined on any mismatch. */
function openExpandSha512(
  backend: EnvelopeBackend,
  tk: Uint8Array,
  salt: Uint8Array,
  aad: Uint8Array,
  iv: Uint8Array,
  commitment: Uint8Array,
  body: Uint8Array,
  tag: Uint8Array,
): Buffer | undefined {
  const derived = expandSha512x64(tk, salt, aad);
  try {
    // Checked before decrypting: a ciphertext valid under two keys cannot pass for both.
    if (!timingSafeEqual(derived.commitment, commitment)) return undefined;
    return backend.gcmOpen(derived.key, iv, aad, body, tag);
  } finally {
    derived.key.fill(0);
    derived.commitment.fill(0);
  }
}

/** `seal` and `open` bound to one backend; the package exports them on the selected one (active-backend.ts). */
export function envelopeWith(backend: EnvelopeBackend) {
  /**
   * Encrypts `plaintext` under a record key derived from `tenantKey` (algorithm 2), bound to the
   * tenant, key version and context. Returns a v1 ciphertext.
   */
  function seal(tenantKey: Uint8Array, plaintext: Uint8Array, params: SealParams): Buffer {
    needs(tenantKey?.byteLength === TENANT_KEY_BYTES, 'Tenant key must be 32 bytes', invalidKey);
    needs(plaintext instanceof Uint8Array, 'Plaintext must be bytes');
    checkTenantId(params.tenantId);
    const { tkVersion } = params;
    needs(
      Number.isInteger(tkVersion) && tkVersion >= 0 && tkVersion <= 0xffffffff,
      'Tenant key version must be an unsigned 32-bit integer',
      invalidArgument,
    );
    const contextJson = canonicalContext(params.context);

    const size = plaintext.byteLength;
    const out = Buffer.allocUnsafe(HEADER_BYTES + size + GCM_TAG_BYTES);
    out[V1.version] = FORMAT_V1;
    out[V1.alg] = ALG_EXPAND_SHA512_AES256_GCM_COMMIT;
    out.writeUInt32BE(tkVersion, V1.tkVersion);
    drawSaltAndIv(out, V1.salt);
    const aad = canonicalAad(out.subarray(0, AAD_HEADER_BYTES), params.tenantId, contextJson);
    const tagAt = HEADER_BYTES + size;
    const { key, commitment } = expandSha512x64(tenantKey, out.subarray(V1.salt, V1.iv), aad);
    try {
      commitment.copy(out, V1.commitment);
      backend.gcmSeal(
        key,
        out.subarray(V1.iv, V1.commitment),
        aad,
        plaintext,
        out.subarray(V1.body, tagAt),
        out.subarray(tagAt),
      );
    } finally {
      key.fill(0);
      commitment.fill(0);
    }
    return out;
  }

  /**
   * Checks the key commitment, then decrypts and authenticates a v1 ciphertext of algorithm 1 or 2. Anything wrong with
   * the ciphertext (or a mismatched tenant, context or key) throws {@link InvalidCiphertextError};
   * a tenant key that is not 32 bytes throws InvalidKeyError, an invalid context InvalidContextError.
   */
  function open(tenantKey: Uint8Array, ciphertext: Uint8Array, params: OpenParams): Buffer {
    needs(tenantKey?.byteLength === TENANT_KEY_BYTES, 'Tenant key must be 32 bytes', invalidKey);
    checkTenantId(params.tenantId);
    const contextJson = canonicalContext(params.context, 'open');
    const { alg } = readHeader(ciphertext);

    const ct = asBuffer(ciphertext);
    // The alg byte is inside the AAD, so relabelling a ciphertext's algorithm fails to authenticate.
    const aad = canonicalAad(ct.subarray(0, AAD_HEADER_BYTES), params.tenantId, contextJson);
    const tagAt = ct.byteLength - GCM_TAG_BYTES;
    const salt = ct.subarray(V1.salt, V1.iv);
    const iv = ct.subarray(V1.iv, V1.commitment);
    const commitment = ct.subarray(V1.commitment, V1.body);
    const body = ct.subarray(V1.body, tagAt);
    const tag = ct.subarray(tagAt);
    const plaintext =
      alg === ALG_HKDF_SHA256_AES256_GCM_COMMIT
        ? backend.openRecord(tenantKey, salt, aad, iv, commitment, body, tag)
        : openExpandSha512(backend, tenantKey, salt, aad, iv, commitment, body, tag);
    if (plaintext === undefined) throw new InvalidCiphertextError();
    return plaintext;
  }

  return { seal, open };
}
