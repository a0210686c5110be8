import { describe, expect, it } from '@jest/globals';
import { KmsError } from '@byok/kms';
import { mapAzureError, parseRetryAfter } from './azure-error-mapper.js';

const scope = { keyRef: 'https://v.vault.azure.net/keys/k', operation: 'unwrap' };
const headers = (h: Record<string, string>) => ({ get: (n: string) => h[n.toLowerCase()] });

function restError(statusCode: number | undefined, body: unknown, h: Record<string, string> = {}) {
  return {
    name: 'RestError',
    message: 'service said no',
    code: statusCode === undefined ? 'REQUEST_SEND_ERROR' : 'Forbidden',
    statusCode,
    response: { headers: headers({ 'x-ms-request-id': 'rid-1', ...h }), bodyAsText: JSON.stringify(body) },
    request: { body: 'SECRET-REQUEST-BODY' },
  };
}

describe('mapAzureError', () => {
  it.each([
    [403, { error: { code: 'Forbidden', innererror: { code: 'KeyDisabled' } } }, 'KEY_REVOKED'],
    [401, { error: { code: 'Unauthorized', innererror: { code: 'KeyDisabled' } } }, 'KEY_REVOKED'],
    [403, { error: { code: 'Forbidden', innererror: { code: 'ForbiddenByRbac' } } }, 'KMS_ACCESS_DENIED'],
    [403, { error: { code: 'Forbidden', innererror: { code: 'ForbiddenByPolicy' } } }, 'KMS_ACCESS_DENIED'],
    [401, { error: { code: 'Unauthorized' } }, 'KMS_ACCESS_DENIED'],
    [404, { error: { code: 'KeyNotFound' } }, 'KEY_NOT_FOUND'],
    [400, { error: { code: 'BadParameter' } }, 'INVALID_CIPHERTEXT'],
    [429, { error: { code: 'Throttled' } }, 'KMS_THROTTLED'],
    [503, { error: { code: 'ServiceUnavailable' } }, 'KMS_UNAVAILABLE'],
    [undefined, {}, 'KMS_UNAVAILABLE'],
  ])('maps status %s to the stable code', (status, body, code) => {
    const err = mapAzureError(restError(status, body), scope);
    expect(err).toBeInstanceOf(KmsError);
    expect(err.code).toBe(code);
    expect(err.requestId).toBe('rid-1');
    expect(err.keyRef).toBe(scope.keyRef);
  });

  it('treats a 400 on wrap as misconfiguration, not a bad ciphertext', () => {
    expect(mapAzureError(restError(400, {}), { ...scope, operation: 'wrap' }).code).toBe('KMS_MISCONFIGURED');
  });

  it('reads Retry-After on 429', () => {
    expect(mapAzureError(restError(429, {}, { 'retry-after': '12' }), scope).retryAfterSeconds).toBe(12);
  });

  it('maps an aborted call to KMS_UNAVAILABLE', () => {
    const abort = Object.assign(new Error('The operation was aborted.'), { name: 'AbortError' });
    expect(mapAzureError(abort, scope).code).toBe('KMS_UNAVAILABLE');
  });

  it('keeps a sanitized cause: never the SDK request (whose body holds the wrapped value)', () => {
    const err = mapAzureError(restError(403, { error: { innererror: { code: 'ForbiddenByRbac' } } }), scope);
    const text = `${JSON.stringify(err)} ${String(err.cause)} ${JSON.stringify(err.cause)} ${err.message}`;
    expect(text).not.toContain('SECRET-REQUEST-BODY');
    expect((err.cause as { request?: unknown }).request).toBeUndefined();
  });

  it('maps the SDK local key checks: expiry to KEY_REVOKED, missing key_ops to KMS_MISCONFIGURED', () => {
    const expired = new Error('Key https://v/keys/k/1 expired at 2020-01-01T00:00:00.000Z');
    expect(mapAzureError(expired, scope).code).toBe('KEY_REVOKED');
    const ops = new Error('Operation unwrapKey is not supported on key https://v/keys/k/1');
    expect(mapAzureError(ops, scope).code).toBe('KMS_MISCONFIGURED');
  });

  it('passes a KmsError through unchanged', () => {
    const original = new KmsError('INVALID_CIPHERTEXT', 'x', { provider: 'azure-kv' });
    expect(mapAzureError(original, scope)).toBe(original);
  });
});

describe('parseRetryAfter', () => {
  it('reads delta seconds and HTTP dates, and ignores junk', () => {
    expect(parseRetryAfter('3')).toBe(3);
    const inTenSeconds = new Date(Date.now() + 10_000).toUTCString();
    expect(parseRetryAfter(inTenSeconds)).toBeGreaterThanOrEqual(9);
    expect(parseRetryAfter('soon')).toBeUndefined();
    expect(parseRetryAfter(undefined)).toBeUndefined();
  });
});
