import { InvalidKeyRefError } from '@byok/kms';
import { describe, expect, it } from '@jest/globals';
import { parseAwsKeyRef } from './aws-key-ref.js';

describe('parseAwsKeyRef', () => {
  it('parses an AWS key ARN', () => {
    const ref = parseAwsKeyRef('arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab');
    expect(ref).toMatchObject({
      provider: 'aws-kms',
      kind: 'key',
      region: 'us-east-1',
      account: '123456789012',
      multiRegion: false,
    });
  });
  it('parses an AWS multi-Region key ARN', () => {
    const ref = parseAwsKeyRef('arn:aws:kms:eu-west-1:123456789012:key/mrk-1234abcd12ab34cd56ef1234567890ab');
    expect(ref).toMatchObject({ kind: 'key', multiRegion: true });
  });
  it('parses an AWS alias ARN', () => {
    expect(parseAwsKeyRef('arn:aws:kms:us-west-2:123456789012:alias/tenant-a')).toMatchObject({
      kind: 'alias',
      resource: 'alias/tenant-a',
    });
  });
  it('rejects AWS managed aliases and bare key ids', () => {
    expect(() => parseAwsKeyRef('arn:aws:kms:us-west-2:123456789012:alias/aws/s3')).toThrow(
      InvalidKeyRefError,
    );
    expect(() => parseAwsKeyRef('1234abcd-12ab-34cd-56ef-1234567890ab')).toThrow(/key ARN/);
  });
});
