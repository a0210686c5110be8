import { InvalidKeyRefError } from '@byok/kms';
import { describe, expect, it } from '@jest/globals';
import { parseAzureKeyRef } from './azure-key-ref.js';

describe('parseAzureKeyRef', () => {
  it('parses Azure Key Vault and Managed HSM key ids with and without a version', () => {
    expect(parseAzureKeyRef('https://acme.vault.azure.net/keys/tenant-a')).toMatchObject({
      kind: 'vault',
      name: 'tenant-a',
      vaultUrl: 'https://acme.vault.azure.net',
    });
    const hsm = parseAzureKeyRef(
      'https://acme.managedhsm.azure.net/keys/k1/0123456789abcdef0123456789abcdef',
    );
    expect(hsm).toMatchObject({
      kind: 'managed-hsm',
      name: 'k1',
      version: '0123456789abcdef0123456789abcdef',
    });
  });
  it('rejects Azure ids over http or with a wrong path', () => {
    expect(() => parseAzureKeyRef('http://acme.vault.azure.net/keys/k')).toThrow(/https/);
    expect(() => parseAzureKeyRef('https://acme.vault.azure.net/secrets/k')).toThrow(/path/);
    expect(() => parseAzureKeyRef('not a url')).toThrow(InvalidKeyRefError);
  });
});
