import { describe, expect, it } from '@jest/globals';
import { signSigV4, verifySigV4 } from './sigv4.js';

// The "get-vanilla" case of AWS's published SigV4 test suite.
const SUITE_KEY = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' };
const SUITE_TIME = new Date('2015-08-30T12:36:00Z');
const GET_VANILLA = {
  method: 'GET',
  url: '/',
  body: Buffer.alloc(0),
  rawHeaders: [
    'Host',
    'example.amazonaws.com',
    'X-Amz-Date',
    '20150830T123600Z',
    'Authorization',
    'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31',
  ],
};

describe('verifySigV4', () => {
  it('accepts the AWS test-suite get-vanilla signature', () => {
    expect(verifySigV4(GET_VANILLA, [SUITE_KEY], SUITE_TIME)).toEqual({
      accessKeyId: 'AKIDEXAMPLE',
      region: 'us-east-1',
      service: 'service',
    });
  });

  it('rejects the same request with another secret, body or header', () => {
    const wrongSecret = [{ ...SUITE_KEY, secretAccessKey: 'other' }];
    expect(verifySigV4(GET_VANILLA, wrongSecret, SUITE_TIME)).toMatchObject({
      type: 'InvalidSignatureException',
    });
    expect(verifySigV4({ ...GET_VANILLA, body: Buffer.from('x') }, [SUITE_KEY], SUITE_TIME)).toMatchObject({
      type: 'InvalidSignatureException',
    });
    const moved = {
      ...GET_VANILLA,
      rawHeaders: ['Host', 'evil.example', ...GET_VANILLA.rawHeaders.slice(2)],
    };
    expect(verifySigV4(moved, [SUITE_KEY], SUITE_TIME)).toMatchObject({ type: 'InvalidSignatureException' });
  });

  it('rejects an unknown access key, a missing header and a stale date', () => {
    expect(verifySigV4(GET_VANILLA, [], SUITE_TIME)).toMatchObject({ type: 'UnrecognizedClientException' });
    expect(
      verifySigV4({ ...GET_VANILLA, rawHeaders: GET_VANILLA.rawHeaders.slice(0, 4) }, [SUITE_KEY]),
    ).toMatchObject({
      type: 'IncompleteSignatureException',
    });
    expect(verifySigV4(GET_VANILLA, [SUITE_KEY], new Date('2015-08-30T13:00:00Z'))).toMatchObject({
      type: 'InvalidSignatureException',
      message: expect.stringContaining('expired'),
    });
  });

  it('verifies what signSigV4 signs, including a query string', () => {
    const req = { method: 'POST', url: '/a/b?z=1&a=2', body: Buffer.from('{"x":1}') };
    const headers = signSigV4(
      { ...req, headers: { host: 'h:1', 'content-type': 'application/json' } },
      SUITE_KEY,
      'eu-west-1',
      'kms',
    );
    const rawHeaders = Object.entries(headers).flat();
    expect(verifySigV4({ ...req, rawHeaders }, [SUITE_KEY])).toMatchObject({
      region: 'eu-west-1',
      service: 'kms',
    });
    expect(verifySigV4({ ...req, url: '/a/b?z=1&a=3', rawHeaders }, [SUITE_KEY])).toMatchObject({
      type: 'InvalidSignatureException',
    });
  });
});
