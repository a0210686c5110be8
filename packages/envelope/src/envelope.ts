import { randomBytes } from 'node:crypto';
import { asBuffer, GCM_TAG_BYTES } from './aes-gcm.js';
import type { EnvelopeBackend } from './backend.js';
import { canonicalContext, type Context } from './canonical-context.js';
import { InvalidArgumentError, InvalidCiphertextError, InvalidKeyError, needs } from './errors.js';
import {
  AAD_HEADER_BYTES,
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

/** `seal` and `open` bound to one backend; the package exports them on the selected one (active-backend.ts). */
export function envelopeWith(backend: EnvelopeBackend) {
  /**
   * Encrypts `plaintext` under a record key derived from `tenantKey`, bound to the tenant, key
   * version and context. Returns a v1 ciphertext.
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
    out[V1.alg] = ALG_HKDF_SHA256_AES256_GCM_COMMIT;
    out.writeUInt32BE(tkVersion, V1.tkVersion);
    drawSaltAndIv(out, V1.salt);
    const aad = canonicalAad(out.subarray(0, AAD_HEADER_BYTES), params.tenantId, contextJson);
    const tagAt = HEADER_BYTES + size;
    backend.sealRecord(
      tenantKey,
      out.subarray(V1.salt, V1.iv),
      aad,
      out.subarray(V1.iv, V1.commitment),
      plaintext,
      out.subarray(V1.commitment, V1.body),
      out.subarray(V1.body, tagAt),
      out.subarray(tagAt),
    );
    return out;
  }

  /**
   * Checks the key commitment, then decrypts and authenticates a v1 ciphertext. Anything wrong with
   * the ciphertext (or a mismatched tenant, context or key) throws {@link InvalidCiphertextError};
   * a tenant key that is not 32 bytes throws InvalidKeyError, an invalid context InvalidContextError.
   */
  function open(tenantKey: Uint8Array, ciphertext: Uint8Array, params: OpenParams): Buffer {
    needs(tenantKey?.byteLength === TENANT_KEY_BYTES, 'Tenant key must be 32 bytes', invalidKey);
    checkTenantId(params.tenantId);
    const contextJson = canonicalContext(params.context, 'open');
    readHeader(ciphertext);

    const ct = asBuffer(ciphertext);
    const aad = canonicalAad(ct.subarray(0, AAD_HEADER_BYTES), params.tenantId, contextJson);
    const tagAt = ct.byteLength - GCM_TAG_BYTES;
    const plaintext = backend.openRecord(
      tenantKey,
      ct.subarray(V1.salt, V1.iv),
      aad,
      ct.subarray(V1.iv, V1.commitment),
      ct.subarray(V1.commitment, V1.body),
      ct.subarray(V1.body, tagAt),
      ct.subarray(tagAt),
    );
    if (plaintext === undefined) throw new InvalidCiphertextError();
    return plaintext;
  }

  return { seal, open };
}
