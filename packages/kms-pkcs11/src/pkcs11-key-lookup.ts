import { KmsError } from '@byok/kms';
import { ck, type Cryptoki, type Handle } from './pkcs11-library.js';
import { PKCS11_PROVIDER, type Pkcs11KeyRef } from './pkcs11-key-ref.js';
import { IV_BYTES, TAG_BYTES } from './pkcs11-wrapped-blob.js';

/** The AES key length this provider accepts: AES-256 only. */
const AES_256_BYTES = 32;

/** A CK_BBOOL attribute value. */
export const bool = (v: Buffer | undefined): boolean => v !== undefined && v.length > 0 && v[0] !== 0;
const ulong = (v: Buffer | undefined): number =>
  v === undefined ? -1 : v.length >= 8 ? Number(v.readBigUInt64LE(0)) : v.readUInt32LE(0);

/** The CKM_AES_GCM mechanism with a 96-bit IV, a 128-bit tag and `aad`. */
export function gcm(iv: Buffer, aad: Buffer) {
  return {
    mechanism: ck.CKM_AES_GCM,
    parameter: { type: ck.CK_PARAMS_AES_GCM, iv, aad, ivBits: IV_BYTES * 8, tagBits: TAG_BYTES * 8 },
  };
}

function misconfigured(message: string, r: Pkcs11KeyRef, operation: string): KmsError {
  return new KmsError('KMS_MISCONFIGURED', message, { provider: PKCS11_PROVIDER, keyRef: r.uri, operation });
}

/**
 * The one AES-256 secret key labelled `r.objectLabel` on the session's token, checked to be one
 * that never leaves the HSM (CKA_SENSITIVE, not CKA_EXTRACTABLE). Looked up on every call, never
 * cached: a key destroyed and re-created under the label must not be confused with the old one.
 */
export function findAesKey(lib: Cryptoki, session: Handle, r: Pkcs11KeyRef, operation: string): Handle {
  lib.C_FindObjectsInit(session, [
    { type: ck.CKA_CLASS, value: ck.CKO_SECRET_KEY },
    { type: ck.CKA_KEY_TYPE, value: ck.CKK_AES },
    { type: ck.CKA_LABEL, value: Buffer.from(r.objectLabel, 'utf8') },
  ]);
  let found: Handle[];
  try {
    found = lib.C_FindObjects(session, 2);
  } finally {
    lib.C_FindObjectsFinal(session);
  }
  const details = { provider: PKCS11_PROVIDER, keyRef: r.uri, operation };
  if (found.length === 0) {
    throw new KmsError('KEY_NOT_FOUND', `pkcs11 ${operation}: no AES key ${r.uri}`, details);
  }
  if (found.length > 1)
    throw misconfigured(`pkcs11 ${operation}: more than one AES key ${r.uri}`, r, operation);
  const key = found[0] as Handle;
  const [sensitive, extractable, length] = lib
    .C_GetAttributeValue(session, key, [
      { type: ck.CKA_SENSITIVE },
      { type: ck.CKA_EXTRACTABLE },
      { type: ck.CKA_VALUE_LEN },
    ])
    .map((a) => a.value);
  if (!bool(sensitive) || bool(extractable)) {
    throw misconfigured(
      `pkcs11 ${operation}: key ${r.uri} can leave the HSM; create it with CKA_SENSITIVE=true and CKA_EXTRACTABLE=false`,
      r,
      operation,
    );
  }
  if (ulong(length) !== AES_256_BYTES) {
    throw misconfigured(`pkcs11 ${operation}: key ${r.uri} is not AES-256`, r, operation);
  }
  return key;
}
