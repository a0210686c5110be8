import { KmsError } from '@byok/kms';
import { inspect } from 'node:util';
import { describe, expect, it } from '@jest/globals';
import { AwsKmsCallError, mapAwsError } from './aws-error-mapper.js';

const at = { keyRef: 'arn:aws:kms:us-east-1:111122223333:key/k', operation: 'unwrap' };
const sdkError = (name: string, status = 400, extra: object = {}) =>
  Object.assign(new Error(`${name} happened`), {
    name,
    $fault: status >= 500 ? 'server' : 'client',
    $metadata: { httpStatusCode: status, requestId: 'req-123' },
    ...extra,
  });

describe('mapAwsError', () => {
  it.each([
    ['DisabledException', 'KEY_REVOKED'],
    ['KMSInvalidStateException', 'KEY_REVOKED'],
    ['NotFoundException', 'KEY_NOT_FOUND'],
    ['AccessDeniedException', 'KMS_ACCESS_DENIED'],
    ['UnrecognizedClientException', 'KMS_ACCESS_DENIED'],
    ['InvalidSignatureException', 'KMS_ACCESS_DENIED'],
    ['IncorrectKeyException', 'INVALID_CIPHERTEXT'],
    ['InvalidCiphertextException', 'INVALID_CIPHERTEXT'],
    ['ThrottlingException', 'KMS_THROTTLED'],
    ['LimitExceededException', 'KMS_THROTTLED'],
    ['ValidationException', 'KMS_MISCONFIGURED'],
  ])('maps %s to %s with the request id', (name, code) => {
    const err = mapAwsError(sdkError(name), at);
    expect(err).toBeInstanceOf(KmsError);
    expect(err).toMatchObject({ code, requestId: 'req-123', keyRef: at.keyRef, operation: 'unwrap' });
    expect(err.message).toContain(name);
  });

  it.each([['KMSInternalException'], ['DependencyTimeoutException'], ['KeyUnavailableException']])(
    'maps the server fault %s to KMS_UNAVAILABLE',
    (name) => {
      expect(mapAwsError(sdkError(name, 500), at).code).toBe('KMS_UNAVAILABLE');
    },
  );

  it('maps an unnamed 5xx to KMS_UNAVAILABLE and an unnamed 4xx to KMS_MISCONFIGURED', () => {
    expect(mapAwsError(sdkError('Unknown', 503), at).code).toBe('KMS_UNAVAILABLE');
    expect(mapAwsError(sdkError('SomethingNew', 400), at).code).toBe('KMS_MISCONFIGURED');
    expect(mapAwsError(sdkError('Unknown', 429), at).code).toBe('KMS_THROTTLED');
  });

  it('maps network failures, also when nested as a cause, to KMS_UNAVAILABLE', () => {
    for (const code of ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT']) {
      const net = Object.assign(new Error(`connect ${code}`), { code });
      expect(mapAwsError(net, at).code).toBe('KMS_UNAVAILABLE');
      expect(mapAwsError(new Error('wrapped', { cause: net }), at).message).toContain(code);
    }
    const abort = Object.assign(new Error('aborted'), { name: 'AbortError' });
    expect(mapAwsError(abort, at).code).toBe('KMS_UNAVAILABLE');
    expect(mapAwsError(undefined, at).code).toBe('KMS_UNAVAILABLE');
  });

  it('passes a KmsError through unchanged', () => {
    const original = new KmsError('KEY_REVOKED', 'x', { provider: 'aws-kms' });
    expect(mapAwsError(original, at)).toBe(original);
  });

  it('keeps a sanitized cause: the SDK error (with its raw response and causes) is not retained', () => {
    // A Decrypt response the SDK could not parse: the SDK keeps its body, which holds the plaintext key.
    const secret = Buffer.from('very secret data key material!!!').toString('base64');
    const body = `{"KeyId":"k","Plaintext":"${secret}"`;
    const sdk = sdkError('SyntaxError', 200, {
      $response: { statusCode: 200, body },
      $responseBodyText: body,
      cause: new Error(`inner ${secret}`),
    });
    const mapped = mapAwsError(sdk, at);
    expect(mapped.cause).toBeInstanceOf(AwsKmsCallError);
    expect(mapped.cause).toMatchObject({ name: 'SyntaxError', httpStatusCode: 200, fault: 'client' });
    expect(mapped.requestId).toBe('req-123');
    for (const shown of [JSON.stringify(mapped.cause), inspect(mapped, { depth: 10, showHidden: true })])
      expect(shown).not.toContain(secret);
  });

  it('keeps the network code of a socket failure in the cause', () => {
    const net = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });
    expect(mapAwsError(net, at).cause).toMatchObject({ networkCode: 'ECONNREFUSED' });
  });
});
