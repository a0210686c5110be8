import { KmsError, type KmsErrorCode } from '@byok/kms';
import { ckrName } from './pkcs11-library.js';
import { PKCS11_PROVIDER } from './pkcs11-key-ref.js';

/** The step a PKCS#11 failure happened in: decides what an ambiguous CKR_GENERAL_ERROR means. */
export type Pkcs11Step = 'token' | 'login' | 'find' | 'init' | 'encrypt' | 'decrypt' | 'attributes';

/** What an error is mapped against: the reference, the operation and the Cryptoki step. */
export interface Pkcs11ErrorContext {
  keyRef: string;
  operation: string;
  step: Pkcs11Step;
}

const BY_CKR: Readonly<Record<string, KmsErrorCode>> = {
  // CKA_ENCRYPT / CKA_DECRYPT set to false: how a customer disables an HSM key.
  CKR_KEY_FUNCTION_NOT_PERMITTED: 'KEY_REVOKED',
  CKR_KEY_HANDLE_INVALID: 'KEY_NOT_FOUND',
  CKR_OBJECT_HANDLE_INVALID: 'KEY_NOT_FOUND',
  // Our own credential is refused: we cannot tell a changed PIN from a revoked partition user, so
  // we fail closed, as the AWS adapter does for refused credentials.
  CKR_PIN_INCORRECT: 'KMS_ACCESS_DENIED',
  CKR_PIN_INVALID: 'KMS_ACCESS_DENIED',
  CKR_PIN_LEN_RANGE: 'KMS_ACCESS_DENIED',
  CKR_PIN_EXPIRED: 'KMS_ACCESS_DENIED',
  CKR_PIN_LOCKED: 'KMS_ACCESS_DENIED',
  CKR_USER_PIN_NOT_INITIALIZED: 'KMS_ACCESS_DENIED',
  CKR_USER_TYPE_INVALID: 'KMS_ACCESS_DENIED',
  CKR_USER_TOO_MANY_TYPES: 'KMS_ACCESS_DENIED',
  CKR_ENCRYPTED_DATA_INVALID: 'INVALID_CIPHERTEXT',
  CKR_ENCRYPTED_DATA_LEN_RANGE: 'INVALID_CIPHERTEXT',
  CKR_SESSION_COUNT: 'KMS_THROTTLED',
  CKR_DEVICE_ERROR: 'KMS_UNAVAILABLE',
  CKR_DEVICE_MEMORY: 'KMS_UNAVAILABLE',
  CKR_DEVICE_REMOVED: 'KMS_UNAVAILABLE',
  CKR_TOKEN_NOT_PRESENT: 'KMS_UNAVAILABLE',
  CKR_TOKEN_NOT_RECOGNIZED: 'KMS_UNAVAILABLE',
  CKR_SLOT_ID_INVALID: 'KMS_UNAVAILABLE',
  CKR_SESSION_CLOSED: 'KMS_UNAVAILABLE',
  CKR_SESSION_HANDLE_INVALID: 'KMS_UNAVAILABLE',
  CKR_USER_NOT_LOGGED_IN: 'KMS_UNAVAILABLE',
  CKR_HOST_MEMORY: 'KMS_UNAVAILABLE',
  CKR_FUNCTION_CANCELED: 'KMS_UNAVAILABLE',
  CKR_CRYPTOKI_NOT_INITIALIZED: 'KMS_UNAVAILABLE',
  CKR_OPERATION_ACTIVE: 'KMS_UNAVAILABLE',
  CKR_KEY_TYPE_INCONSISTENT: 'KMS_MISCONFIGURED',
  CKR_KEY_SIZE_RANGE: 'KMS_MISCONFIGURED',
  CKR_MECHANISM_INVALID: 'KMS_MISCONFIGURED',
  CKR_MECHANISM_PARAM_INVALID: 'KMS_MISCONFIGURED',
  CKR_DATA_LEN_RANGE: 'KMS_MISCONFIGURED',
  CKR_TOKEN_WRITE_PROTECTED: 'KMS_MISCONFIGURED',
};

/**
 * Cryptoki errors after which the session (or the login behind it) cannot be trusted: the pool
 * drops the token's sessions so the next call opens and logs in afresh.
 */
const SESSION_LOST = new Set([
  'CKR_SESSION_CLOSED',
  'CKR_SESSION_HANDLE_INVALID',
  'CKR_USER_NOT_LOGGED_IN',
  'CKR_DEVICE_REMOVED',
  'CKR_TOKEN_NOT_PRESENT',
  'CKR_SLOT_ID_INVALID',
  'CKR_DEVICE_ERROR',
]);

/** True when `err` means the token's sessions or login are gone and must be rebuilt. */
export function sessionLost(err: unknown): boolean {
  const name = ckrName(err);
  return name !== undefined && SESSION_LOST.has(name);
}

function codeFor(name: string | undefined, step: Pkcs11Step): KmsErrorCode {
  // SoftHSM (and other libraries) report a failed GCM tag check as CKR_GENERAL_ERROR, not as
  // CKR_ENCRYPTED_DATA_INVALID. Only in the decrypt step does it mean a wrong context, key or blob.
  if (name === 'CKR_GENERAL_ERROR' || name === 'CKR_FUNCTION_FAILED') {
    return step === 'decrypt' ? 'INVALID_CIPHERTEXT' : 'KMS_UNAVAILABLE';
  }
  if (name === undefined) return 'KMS_UNAVAILABLE';
  return BY_CKR[name] ?? (step === 'login' ? 'KMS_ACCESS_DENIED' : 'KMS_UNAVAILABLE');
}

/**
 * Maps a pkcs11js error to a {@link KmsError}. The message names the reference, the operation and
 * the CKR_* code, never data, key bytes or the PIN (pkcs11js messages carry only the code).
 */
export function mapPkcs11Error(err: unknown, ctx: Pkcs11ErrorContext): KmsError {
  if (err instanceof KmsError) return err;
  const name = ckrName(err);
  const code = codeFor(name, ctx.step);
  const what = name ?? 'a PKCS#11 library error';
  return new KmsError(code, `pkcs11 ${ctx.operation} with ${ctx.keyRef} failed at ${ctx.step}: ${what}`, {
    provider: PKCS11_PROVIDER,
    keyRef: ctx.keyRef,
    operation: ctx.operation,
    cause: err,
  });
}
