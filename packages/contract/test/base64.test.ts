import { randomBytes } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import {
  Base64,
  Base64Url,
  decodeCanonicalBase64,
  DecryptRequest,
  EncryptRequest,
  isCanonicalBase64,
} from '../src/index.js';

describe('Base64 (standard, padded, canonical)', () => {
  it('accepts what Node encodes, for every length', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 70 }), (bytes) => {
        expect(Base64.safeParse(Buffer.from(bytes).toString('base64')).success).toBe(true);
      }),
    );
    expect(Base64.safeParse('').success).toBe(true);
  });

  it.each([
    ['missing padding', 'QQ'],
    ['one pad short', 'QQ='],
    ['too much padding', 'QQ==='],
    ['padding inside', 'QQ==QUJD'],
    ['only padding', '===='],
    ['url alphabet', 'ab-_'],
    ['whitespace', 'QUJD RA=='],
    ['newline', 'QUJD\nRA=='],
    ['non-ASCII', 'QUJDé==='],
    ['non-zero trailing bits', 'QR=='],
    ['length not a multiple of 4', 'QUJDR'],
  ])('rejects %s', (_what, s) => {
    const r = Base64.safeParse(s);
    expect(r.success).toBe(false);
    expect(r.error?.issues[0]?.message).toBe('must be standard base64 with padding');
  });

  it('rejects any single inserted character that is not in the alphabet', () => {
    const good = randomBytes(30).toString('base64');
    for (const ch of [' ', '-', '_', '.', '*', '\u0000', '\u00ff', '\u2028']) {
      expect(isCanonicalBase64(good.slice(0, 7) + ch + good.slice(7), 'base64')).toBe(false);
    }
  });
});

describe('Base64Url (no padding, canonical)', () => {
  it('accepts what Node encodes, for every length', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 70 }), (bytes) => {
        expect(Base64Url.safeParse(Buffer.from(bytes).toString('base64url')).success).toBe(true);
      }),
    );
  });

  it.each([
    ['padding', 'QQ=='],
    ['standard alphabet', 'ab+/'],
    ['dangling character (length 4n+1)', 'QUJDR'],
    ['non-zero trailing bits', 'QR'],
    ['whitespace', 'QUJD RA'],
  ])('rejects %s', (_what, s) => {
    const r = Base64Url.safeParse(s);
    expect(r.success).toBe(false);
    expect(r.error?.issues[0]?.message).toBe('must be base64url without padding');
  });
});

describe('request limits still apply with the canonical check', () => {
  it('encrypt: 1 MiB of plaintext passes, one byte more is refused', () => {
    expect(EncryptRequest.safeParse({ plaintext: randomBytes(1024 * 1024).toString('base64') }).success).toBe(
      true,
    );
    const over = EncryptRequest.safeParse({ plaintext: randomBytes(1024 * 1024 + 3).toString('base64') });
    expect(over.success).toBe(false);
    expect(over.error?.issues.map((i) => i.message)).toContain('plaintext: at most 1 MiB');
  });

  it('decrypt: a ciphertext with a stray character is refused', () => {
    const ct = randomBytes(200).toString('base64url');
    expect(DecryptRequest.safeParse({ ciphertext: ct }).success).toBe(true);
    expect(DecryptRequest.safeParse({ ciphertext: `${ct}=` }).success).toBe(false);
  });
});

describe('decodeCanonicalBase64', () => {
  it('returns the bytes of a canonical encoding, undefined otherwise', () => {
    const bytes = randomBytes(37);
    expect(decodeCanonicalBase64(bytes.toString('base64url'), 'base64url')?.equals(bytes)).toBe(true);
    expect(decodeCanonicalBase64(bytes.toString('base64'), 'base64')?.equals(bytes)).toBe(true);
    expect(decodeCanonicalBase64(`${bytes.toString('base64url')}=`, 'base64url')).toBeUndefined();
    expect(decodeCanonicalBase64('QR==', 'base64')).toBeUndefined();
  });
});
