import { describe, expect, it } from '@jest/globals';
import { InvalidKeyRefError } from './errors.js';
import { parseKeyRef } from './key-ref.js';

describe('parseKeyRef', () => {
  it('parses an AWS key ARN', () => {
    const ref = parseKeyRef(
      'aws-kms',
      'arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab',
    );
    expect(ref).toMatchObject({
      provider: 'aws-kms',
      kind: 'key',
      region: 'us-east-1',
      account: '123456789012',
      multiRegion: false,
    });
  });
  it('parses an AWS multi-Region key ARN', () => {
    const ref = parseKeyRef(
      'aws-kms',
      'arn:aws:kms:eu-west-1:123456789012:key/mrk-1234abcd12ab34cd56ef1234567890ab',
    );
    expect(ref).toMatchObject({ kind: 'key', multiRegion: true });
  });
  it('parses an AWS alias ARN', () => {
    expect(parseKeyRef('aws-kms', 'arn:aws:kms:us-west-2:123456789012:alias/tenant-a')).toMatchObject({
      kind: 'alias',
      resource: 'alias/tenant-a',
    });
  });
  it('rejects AWS managed aliases and bare key ids', () => {
    expect(() => parseKeyRef('aws-kms', 'arn:aws:kms:us-west-2:123456789012:alias/aws/s3')).toThrow(
      InvalidKeyRefError,
    );
    expect(() => parseKeyRef('aws-kms', '1234abcd-12ab-34cd-56ef-1234567890ab')).toThrow(/key ARN/);
  });
  it('parses Azure Key Vault and Managed HSM key ids with and without a version', () => {
    expect(parseKeyRef('azure-kv', 'https://acme.vault.azure.net/keys/tenant-a')).toMatchObject({
      kind: 'vault',
      name: 'tenant-a',
      vaultUrl: 'https://acme.vault.azure.net',
    });
    const hsm = parseKeyRef(
      'azure-kv',
      'https://acme.managedhsm.azure.net/keys/k1/0123456789abcdef0123456789abcdef',
    );
    expect(hsm).toMatchObject({
      kind: 'managed-hsm',
      name: 'k1',
      version: '0123456789abcdef0123456789abcdef',
    });
  });
  it('rejects Azure ids over http or with a wrong path', () => {
    expect(() => parseKeyRef('azure-kv', 'http://acme.vault.azure.net/keys/k')).toThrow(/https/);
    expect(() => parseKeyRef('azure-kv', 'https://acme.vault.azure.net/secrets/k')).toThrow(/path/);
    expect(() => parseKeyRef('azure-kv', 'not a url')).toThrow(InvalidKeyRefError);
  });
  it('parses GCP CryptoKey names and explicit versions', () => {
    const name = 'projects/acme-prod/locations/europe-west1/keyRings/byok/cryptoKeys/tenant-a';
    const ref = parseKeyRef('gcp-kms', name);
    expect(ref).toMatchObject({ cryptoKeyName: name, project: 'acme-prod' });
    expect('version' in ref).toBe(false);
    expect(parseKeyRef('gcp-kms', `${name}/cryptoKeyVersions/3`)).toMatchObject({
      cryptoKeyName: name,
      version: '3',
    });
    expect(() => parseKeyRef('gcp-kms', 'projects/acme/keyRings/x')).toThrow(InvalidKeyRefError);
  });
  it('parses local references and rejects bad names', () => {
    expect(parseKeyRef('local', 'local:dev-key_1')).toMatchObject({ provider: 'local', name: 'dev-key_1' });
    expect(() => parseKeyRef('local', 'local:')).toThrow(InvalidKeyRefError);
    expect(() => parseKeyRef('local', 'local:../../etc')).toThrow(InvalidKeyRefError);
    expect(() => parseKeyRef('local', ' local:x')).toThrow(InvalidKeyRefError);
  });
});
