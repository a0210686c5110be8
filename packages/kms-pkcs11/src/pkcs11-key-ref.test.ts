import { describe, expect, it } from '@jest/globals';
import { InvalidKeyRefError } from '@byok/kms';
import { encodePkcs11Value, parsePkcs11KeyRef, pkcs11Uri } from './pkcs11-key-ref.js';

function reason(input: string): string {
  try {
    parsePkcs11KeyRef(input);
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidKeyRefError);
    return (err as InvalidKeyRefError).message;
  }
  throw new Error(`accepted ${input}`);
}

describe('parsePkcs11KeyRef', () => {
  it('parses token and object labels into the canonical form', () => {
    expect(parsePkcs11KeyRef('pkcs11:token=byok;object=tenant-a')).toEqual({
      provider: 'pkcs11',
      uri: 'pkcs11:token=byok;object=tenant-a',
      tokenLabel: 'byok',
      objectLabel: 'tenant-a',
    });
  });

  it('accepts the attributes in either order and canonicalises to token first', () => {
    expect(parsePkcs11KeyRef('pkcs11:object=tenant-a;token=byok').uri).toBe(
      'pkcs11:token=byok;object=tenant-a',
    );
  });

  it('decodes percent-encoding and re-encodes only what RFC 7512 requires, in upper-case hex', () => {
    const ref = parsePkcs11KeyRef('pkcs11:token=Acme%20HSM%2fprod;object=%74enant%3ba%c3%a9');
    expect(ref.tokenLabel).toBe('Acme HSM/prod');
    expect(ref.objectLabel).toBe('tenant;aé');
    expect(ref.uri).toBe('pkcs11:token=Acme%20HSM%2Fprod;object=tenant%3Ba%C3%A9');
    expect(parsePkcs11KeyRef(ref.uri)).toEqual(ref);
  });

  it('accepts type=secret-key and drops it from the canonical form', () => {
    expect(parsePkcs11KeyRef('pkcs11:token=t;object=k;type=secret-key').uri).toBe('pkcs11:token=t;object=k');
    expect(reason('pkcs11:token=t;object=k;type=private')).toMatch(/type must be secret-key/);
  });

  it('accepts the scheme in any case', () => {
    expect(parsePkcs11KeyRef('PKCS11:token=t;object=k').uri).toBe('pkcs11:token=t;object=k');
  });

  it('refuses query attributes, so a PIN never travels in a key reference, and keeps the PIN out of the error', () => {
    try {
      parsePkcs11KeyRef('pkcs11:token=t;object=k?pin-value=123456');
      throw new Error('accepted');
    } catch (err) {
      expect(err).toBeInstanceOf(InvalidKeyRefError);
      expect((err as Error).message).toMatch(/a PIN never travels/);
      expect(JSON.stringify({ ...(err as object), m: (err as Error).message })).not.toContain('123456');
    }
    expect(reason('pkcs11:token=t;object=k?module-path=/tmp/evil.so')).toMatch(/query attributes/);
  });

  it('refuses a PIN put in the path, without repeating it', () => {
    try {
      parsePkcs11KeyRef('pkcs11:token=t;object=k;pin-value=654321');
      throw new Error('accepted');
    } catch (err) {
      expect((err as Error).message).toMatch(/unknown attribute pin-value/);
      expect((err as InvalidKeyRefError).input).not.toContain('654321');
    }
  });

  it('refuses unknown, unsupported and duplicate attributes', () => {
    expect(reason('pkcs11:token=t;object=k;colour=blue')).toMatch(/unknown attribute colour/);
    expect(reason('pkcs11:token=t;object=k;id=%01')).toMatch(/attribute id is not supported/);
    expect(reason('pkcs11:token=t;object=k;serial=1234')).toMatch(/serial is not supported/);
    expect(reason('pkcs11:token=t;token=u;object=k')).toMatch(/token appears twice/);
  });

  it('refuses empty labels and missing attributes', () => {
    expect(reason('pkcs11:token=;object=k')).toMatch(/token must not be empty/);
    expect(reason('pkcs11:token=t;object=')).toMatch(/object must not be empty/);
    expect(reason('pkcs11:token=t')).toMatch(/object attribute .* is required/);
    expect(reason('pkcs11:object=k')).toMatch(/token attribute .* is required/);
    expect(reason('pkcs11:')).toMatch(/name=value/);
    expect(reason('pkcs11:token=t;;object=k')).toMatch(/name=value/);
  });

  it('refuses characters that must be percent-encoded, bad escapes and invalid UTF-8', () => {
    expect(reason('pkcs11:token=my token;object=k')).toMatch(/must be percent-encoded/);
    expect(reason('pkcs11:token=t;object=a%zz')).toMatch(/must be percent-encoded/);
    expect(reason('pkcs11:token=t;object=%ff')).toMatch(/not valid UTF-8/);
    expect(reason('pkcs11:token=t/x;object=k')).toMatch(/"\/" or "#"/);
  });

  it('refuses labels PKCS#11 cannot hold: over 32 bytes for a token, control characters, edge spaces', () => {
    expect(reason(`pkcs11:token=${'t'.repeat(33)};object=k`)).toMatch(/at most 32 bytes/);
    expect(parsePkcs11KeyRef(`pkcs11:token=${'t'.repeat(32)};object=k`).tokenLabel).toHaveLength(32);
    expect(reason('pkcs11:token=t;object=a%0Ab')).toMatch(/control characters/);
    expect(reason('pkcs11:token=t%20;object=k')).toMatch(/start or end with a space/);
  });

  it('refuses other schemes, surrounding spaces and empty input', () => {
    expect(reason('local:k')).toMatch(/expected pkcs11:token=/);
    expect(reason(' pkcs11:token=t;object=k')).toMatch(/surrounding spaces/);
    expect(reason('')).toMatch(/non-empty/);
  });
});

describe('pkcs11Uri', () => {
  it('encodes every character outside pk11-pchar and round-trips through the parser', () => {
    expect(encodePkcs11Value('a b;c/d?e%f#g')).toBe('a%20b%3Bc%2Fd%3Fe%25f%23g');
    const uri = pkcs11Uri('HSM ünit', 'key=1&2');
    expect(uri).toBe('pkcs11:token=HSM%20%C3%BCnit;object=key=1&2');
    expect(parsePkcs11KeyRef(uri)).toMatchObject({ tokenLabel: 'HSM ünit', objectLabel: 'key=1&2' });
  });
});
