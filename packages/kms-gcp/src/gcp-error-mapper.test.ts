import { describe, expect, it } from '@jest/globals';
import { KmsError } from '@byok/kms';
import { GcpKmsCallError, mapGcpError } from './gcp-error-mapper.js';

const unwrapCtx = { keyRef: 'projects/p/locations/l/keyRings/r/cryptoKeys/k', operation: 'unwrap' } as const;
const wrapCtx = { ...unwrapCtx, operation: 'wrap' } as const;

function grpcError(code: number, message = 'x'): Error {
  return Object.assign(new Error(message), { code });
}

describe('mapGcpError', () => {
  it.each([
    [9, 'KEY_REVOKED'],
    [5, 'KEY_NOT_FOUND'],
    [7, 'KMS_ACCESS_DENIED'],
    [16, 'KMS_ACCESS_DENIED'],
    [8, 'KMS_THROTTLED'],
    [14, 'KMS_UNAVAILABLE'],
    [4, 'KMS_UNAVAILABLE'],
    [1, 'KMS_UNAVAILABLE'],
    [13, 'KMS_UNAVAILABLE'],
    [3, 'INVALID_CIPHERTEXT'],
    [12, 'KMS_MISCONFIGURED'],
  ])('maps gRPC code %i on unwrap to %s', (code, expected) => {
    expect(mapGcpError(grpcError(code), unwrapCtx).code).toBe(expected);
  });

  it.each([
    [400, 'INVALID_CIPHERTEXT'],
    [401, 'KMS_ACCESS_DENIED'],
    [403, 'KMS_ACCESS_DENIED'],
    [404, 'KEY_NOT_FOUND'],
    [429, 'KMS_THROTTLED'],
    [500, 'KMS_UNAVAILABLE'],
    [503, 'KMS_UNAVAILABLE'],
    [504, 'KMS_UNAVAILABLE'],
  ])('maps an HTTP %i GaxiosError (status only) on unwrap to %s', (status, expected) => {
    const err = Object.assign(new Error('http'), { status, response: { status } });
    expect(mapGcpError(err, unwrapCtx).code).toBe(expected);
  });

  it('maps a legacy GaxiosError whose .code is the HTTP status', () => {
    expect(mapGcpError(Object.assign(new Error('x'), { code: '404' }), unwrapCtx).code).toBe('KEY_NOT_FOUND');
    expect(mapGcpError(Object.assign(new Error('x'), { code: 429 }), unwrapCtx).code).toBe('KMS_THROTTLED');
  });

  it('prefers the status name in a REST error body over the HTTP status', () => {
    const err = Object.assign(new Error('x'), {
      status: 400,
      response: { status: 400, data: { error: { status: 'FAILED_PRECONDITION' } } },
    });
    expect(mapGcpError(err, unwrapCtx).code).toBe('KEY_REVOKED');
  });

  it('recognises a disabled version from the message when REST gives only HTTP 400', () => {
    const err = Object.assign(new Error('v/1 is not enabled, current state is: DISABLED.'), { status: 400 });
    expect(mapGcpError(err, unwrapCtx).code).toBe('KEY_REVOKED');
  });

  it('treats INVALID_ARGUMENT on wrap as misconfiguration, not a bad ciphertext', () => {
    expect(mapGcpError(grpcError(3), wrapCtx).code).toBe('KMS_MISCONFIGURED');
  });

  it('treats a checksum the server rejected as retryable corruption, not a bad ciphertext', () => {
    const err = grpcError(
      3,
      'The checksum in field ciphertext_crc32c did not match the data in field ciphertext.',
    );
    const mapped = mapGcpError(err, unwrapCtx);
    expect(mapped.code).toBe('KMS_UNAVAILABLE');
    expect(mapped.retryable).toBe(true);
  });

  it.each(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'ENOTFOUND'])(
    'maps network error %s to KMS_UNAVAILABLE',
    (code) => {
      expect(mapGcpError(Object.assign(new Error('net'), { code }), unwrapCtx).code).toBe('KMS_UNAVAILABLE');
    },
  );

  it('maps an abort to KMS_UNAVAILABLE', () => {
    expect(mapGcpError(new DOMException('aborted', 'AbortError'), unwrapCtx).code).toBe('KMS_UNAVAILABLE');
  });

  it('maps anything unrecognised to KMS_UNAVAILABLE, never to success or revocation', () => {
    expect(mapGcpError('boom', unwrapCtx).code).toBe('KMS_UNAVAILABLE');
    expect(mapGcpError(undefined, unwrapCtx).code).toBe('KMS_UNAVAILABLE');
  });

  it('passes a KmsError through unchanged', () => {
    const original = new KmsError('KEY_REVOKED', 'r', { provider: 'gcp-kms' });
    expect(mapGcpError(original, unwrapCtx)).toBe(original);
  });

  it('reads the retry delay of a throttling error', () => {
    const err = Object.assign(grpcError(8), { statusDetails: [{ retryDelay: { seconds: '3' } }] });
    expect(mapGcpError(err, wrapCtx).retryAfterSeconds).toBe(3);
  });

  it('keeps a sanitized cause: the SDK error (with its request config) is not retained', () => {
    const secret = Buffer.from('very secret key material').toString('base64');
    const sdkError = Object.assign(grpcError(7, 'Permission denied'), {
      config: { data: { plaintext: secret } },
    });
    const mapped = mapGcpError(sdkError, wrapCtx);
    expect(mapped.cause).toBeInstanceOf(GcpKmsCallError);
    expect((mapped.cause as GcpKmsCallError).status).toBe('PERMISSION_DENIED');
    expect(JSON.stringify(mapped.cause)).not.toContain(secret);
    expect(mapped.message).toContain(wrapCtx.keyRef);
    expect(mapped.message).toContain('PERMISSION_DENIED');
    expect(mapped.provider).toBe('gcp-kms');
    expect(mapped.operation).toBe('wrap');
  });
});
