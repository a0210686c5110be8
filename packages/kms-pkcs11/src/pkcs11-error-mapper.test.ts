import { describe, expect, it } from '@jest/globals';
import { KmsError } from '@byok/kms';
import { mapPkcs11Error, sessionLost, type Pkcs11Step } from './pkcs11-error-mapper.js';
import { ck } from './pkcs11-library.js';

// The binding's own error class, as pkcs11js throws it: message "CKR_NAME", numeric code.
function ckr(name: string): Error {
  return new ck.Pkcs11Error(`${name}:${(ck as unknown as Record<string, number>)[name]}`, 0, 'C_Test');
}

const at = (step: Pkcs11Step) => ({ keyRef: 'pkcs11:token=t;object=k', operation: 'unwrap', step });

describe('mapPkcs11Error', () => {
  it('reads the CKR name from the binding error', () => {
    expect(ckr('CKR_PIN_INCORRECT').message).toBe('CKR_PIN_INCORRECT');
  });

  it.each([
    ['CKR_KEY_FUNCTION_NOT_PERMITTED', 'init', 'KEY_REVOKED'],
    ['CKR_OBJECT_HANDLE_INVALID', 'init', 'KEY_NOT_FOUND'],
    ['CKR_KEY_HANDLE_INVALID', 'init', 'KEY_NOT_FOUND'],
    ['CKR_PIN_INCORRECT', 'login', 'KMS_ACCESS_DENIED'],
    ['CKR_PIN_LOCKED', 'login', 'KMS_ACCESS_DENIED'],
    ['CKR_USER_PIN_NOT_INITIALIZED', 'login', 'KMS_ACCESS_DENIED'],
    ['CKR_ARGUMENTS_BAD', 'login', 'KMS_ACCESS_DENIED'],
    ['CKR_ENCRYPTED_DATA_INVALID', 'decrypt', 'INVALID_CIPHERTEXT'],
    ['CKR_ENCRYPTED_DATA_LEN_RANGE', 'decrypt', 'INVALID_CIPHERTEXT'],
    ['CKR_GENERAL_ERROR', 'decrypt', 'INVALID_CIPHERTEXT'],
    ['CKR_GENERAL_ERROR', 'encrypt', 'KMS_UNAVAILABLE'],
    ['CKR_GENERAL_ERROR', 'init', 'KMS_UNAVAILABLE'],
    ['CKR_SESSION_COUNT', 'login', 'KMS_THROTTLED'],
    ['CKR_DEVICE_REMOVED', 'find', 'KMS_UNAVAILABLE'],
    ['CKR_TOKEN_NOT_PRESENT', 'token', 'KMS_UNAVAILABLE'],
    ['CKR_SESSION_HANDLE_INVALID', 'encrypt', 'KMS_UNAVAILABLE'],
    ['CKR_MECHANISM_INVALID', 'init', 'KMS_MISCONFIGURED'],
    ['CKR_MECHANISM_PARAM_INVALID', 'init', 'KMS_MISCONFIGURED'],
    ['CKR_KEY_TYPE_INCONSISTENT', 'init', 'KMS_MISCONFIGURED'],
    ['CKR_ATTRIBUTE_TYPE_INVALID', 'attributes', 'KMS_UNAVAILABLE'],
  ] as const)('maps %s in step %s to %s', (name, step, code) => {
    const mapped = mapPkcs11Error(ckr(name), at(step));
    expect(mapped).toBeInstanceOf(KmsError);
    expect(mapped.code).toBe(code);
    expect(mapped.provider).toBe('pkcs11');
    expect(mapped.message).toContain(name);
    expect(mapped.message).toContain('pkcs11:token=t;object=k');
  });

  it('keeps a KmsError raised inside the operation as it is', () => {
    const own = new KmsError('KEY_NOT_FOUND', 'no key', { provider: 'pkcs11' });
    expect(mapPkcs11Error(own, at('find'))).toBe(own);
  });

  it('maps an error without a CKR code (library crash, binding bug) to KMS_UNAVAILABLE', () => {
    expect(mapPkcs11Error(new TypeError('bad handle'), at('encrypt')).code).toBe('KMS_UNAVAILABLE');
  });

  it('says when a token session or login is lost and the pool must start again', () => {
    expect(sessionLost(ckr('CKR_SESSION_HANDLE_INVALID'))).toBe(true);
    expect(sessionLost(ckr('CKR_USER_NOT_LOGGED_IN'))).toBe(true);
    expect(sessionLost(ckr('CKR_DEVICE_REMOVED'))).toBe(true);
    expect(sessionLost(ckr('CKR_GENERAL_ERROR'))).toBe(false);
    expect(sessionLost(ckr('CKR_KEY_FUNCTION_NOT_PERMITTED'))).toBe(false);
    expect(sessionLost(new Error('other'))).toBe(false);
  });
});
