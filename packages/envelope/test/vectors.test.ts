import { readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import { InvalidCiphertextError, readHeader, type Context } from '../src/index.js';
import { backends } from './backends.js';

interface PinnedVector {
  name: string;
  tenantKey: string;
  tenantId: string;
  tkVersion: number;
  context?: Context;
  plaintext: string;
  ciphertext: string;
}

const file = new URL('./vectors/v1.json', import.meta.url);
const { vectors } = JSON.parse(readFileSync(file, 'utf8')) as { vectors: PinnedVector[] };

describe.each(backends)('pinned v1 vectors (must keep decrypting forever), $name backend', ({ open }) => {
  it('has vectors to check', () => {
    expect(vectors.length).toBeGreaterThanOrEqual(4);
  });

  it.each(vectors.map((v) => [v.name, v] as const))('decrypts: %s', (_name, v) => {
    const ct = Buffer.from(v.ciphertext, 'base64url');
    const key = Buffer.from(v.tenantKey, 'hex');
    expect(readHeader(ct)).toEqual({ version: 1, alg: 1, tkVersion: v.tkVersion });
    expect(open(key, ct, { tenantId: v.tenantId, context: v.context }).toString('hex')).toBe(v.plaintext);
    expect(() => open(key, ct, { tenantId: `${v.tenantId}x`, context: v.context })).toThrow(
      InvalidCiphertextError,
    );
  });
});
