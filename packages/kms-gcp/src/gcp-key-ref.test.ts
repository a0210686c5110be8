import { InvalidKeyRefError } from '@byok/kms';
import { describe, expect, it } from '@jest/globals';
import { parseGcpKeyRef } from './gcp-key-ref.js';

describe('parseGcpKeyRef', () => {
  it('parses GCP CryptoKey names and explicit versions', () => {
    const name = 'projects/acme-prod/locations/europe-west1/keyRings/byok/cryptoKeys/tenant-a';
    const ref = parseGcpKeyRef(name);
    expect(ref).toMatchObject({ cryptoKeyName: name, project: 'acme-prod' });
    expect('version' in ref).toBe(false);
    expect(parseGcpKeyRef(`${name}/cryptoKeyVersions/3`)).toMatchObject({
      cryptoKeyName: name,
      version: '3',
    });
    expect(() => parseGcpKeyRef('projects/acme/keyRings/x')).toThrow(InvalidKeyRefError);
  });
});
