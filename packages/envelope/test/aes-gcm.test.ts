import { randomBytes } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import { InvalidArgumentError, InvalidCiphertextError, InvalidKeyError } from '../src/index.js';
import { backends } from './backends.js';

const key = randomBytes(32);
const iv = randomBytes(12);
const aad = Buffer.from('aad');
const plaintext = Buffer.from('attack at dawn');

describe.each(backends)('aesGcm, $name backend', ({ aesGcm }) => {
  it('round-trips and returns a 16-byte tag', () => {
    const { ciphertext, tag } = aesGcm.seal(key, iv, plaintext, aad);
    expect(tag).toHaveLength(16);
    expect(ciphertext).toHaveLength(plaintext.length);
    expect(aesGcm.open(key, iv, ciphertext, tag, aad)).toEqual(plaintext);
  });

  it.each([0, 4, 8, 12, 15])('rejects a %i-byte (truncated) tag', (len) => {
    const { ciphertext, tag } = aesGcm.seal(key, iv, plaintext, aad);
    expect(() => aesGcm.open(key, iv, ciphertext, tag.subarray(0, len), aad)).toThrow(InvalidCiphertextError);
  });

  it('rejects a 17-byte tag', () => {
    const { ciphertext, tag } = aesGcm.seal(key, iv, plaintext, aad);
    expect(() => aesGcm.open(key, iv, ciphertext, Buffer.concat([tag, Buffer.of(0)]), aad)).toThrow(
      InvalidCiphertextError,
    );
  });

  it('rejects a key that is not 32 bytes', () => {
    for (const len of [0, 16, 24, 31, 33]) {
      expect(() => aesGcm.seal(randomBytes(len), iv, plaintext, aad)).toThrow(InvalidKeyError);
      expect(() => aesGcm.open(randomBytes(len), iv, plaintext, randomBytes(16), aad)).toThrow(
        InvalidKeyError,
      );
    }
  });

  it('rejects an IV that is not 12 bytes', () => {
    for (const len of [0, 8, 11, 13, 16]) {
      expect(() => aesGcm.seal(key, randomBytes(len), plaintext, aad)).toThrow(InvalidArgumentError);
      expect(() => aesGcm.open(key, randomBytes(len), plaintext, randomBytes(16), aad)).toThrow(
        InvalidCiphertextError,
      );
    }
  });

  it('rejects a changed AAD, ciphertext or tag', () => {
    const { ciphertext, tag } = aesGcm.seal(key, iv, plaintext, aad);
    expect(() => aesGcm.open(key, iv, ciphertext, tag, Buffer.from('aae'))).toThrow(InvalidCiphertextError);
    const ct2 = Buffer.from(ciphertext);
    ct2[0] = (ct2[0] as number) ^ 1;
    expect(() => aesGcm.open(key, iv, ct2, tag, aad)).toThrow(InvalidCiphertextError);
    const tag2 = Buffer.from(tag);
    tag2[15] = (tag2[15] as number) ^ 0x80;
    expect(() => aesGcm.open(key, iv, ciphertext, tag2, aad)).toThrow(InvalidCiphertextError);
  });

  it('accepts Uint8Array views that are not Buffers', () => {
    const { ciphertext, tag } = aesGcm.seal(
      new Uint8Array(key),
      new Uint8Array(iv),
      new Uint8Array(plaintext),
      aad,
    );
    expect(
      aesGcm.open(new Uint8Array(key), iv, new Uint8Array(ciphertext), new Uint8Array(tag), aad),
    ).toEqual(plaintext);
  });
});
