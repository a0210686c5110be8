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

/** Pinned vectors per algorithm of format v1: algorithm 1 (no longer written) and 2 (what seal writes). */
const files = [
  { alg: 1, file: './vectors/v1.json' },
  { alg: 2, file: './vectors/v1-alg2.json' },
].map(({ alg, file }) => ({
  alg,
  vectors: (JSON.parse(readFileSync(new URL(file, import.meta.url), 'utf8')) as { vectors: PinnedVector[] })
    .vectors,
}));

describe.each(backends)(
  'pinned v1 vectors (must keep decrypting forever), $name backend',
  ({ open, seal }) => {
    it.each(files)('has vectors of algorithm $alg to check', ({ vectors }) => {
      expect(vectors.length).toBeGreaterThanOrEqual(4);
    });

    const all = files.flatMap(({ alg, vectors }) =>
      vectors.map((v) => [`alg ${alg}: ${v.name}`, alg, v] as const),
    );
    it.each(all)('decrypts: %s', (_name, alg, v) => {
      const ct = Buffer.from(v.ciphertext, 'base64url');
      const key = Buffer.from(v.tenantKey, 'hex');
      expect(readHeader(ct)).toEqual({ version: 1, alg, tkVersion: v.tkVersion });
      expect(open(key, ct, { tenantId: v.tenantId, context: v.context }).toString('hex')).toBe(v.plaintext);
      expect(() => open(key, ct, { tenantId: `${v.tenantId}x`, context: v.context })).toThrow(
        InvalidCiphertextError,
      );
    });

    it('opens algorithm 1 and algorithm 2 under one tenant key, and seals algorithm 2', () => {
      const [v1] = files[0]?.vectors ?? [];
      if (!v1) throw new Error('no algorithm 1 vector');
      const key = Buffer.from(v1.tenantKey, 'hex');
      const params = { tenantId: v1.tenantId, context: v1.context };
      const fresh = seal(key, Buffer.from('new'), { ...params, tkVersion: v1.tkVersion });
      expect(readHeader(fresh).alg).toBe(2);
      expect(open(key, fresh, params).toString()).toBe('new');
      expect(open(key, Buffer.from(v1.ciphertext, 'base64url'), params).toString('hex')).toBe(v1.plaintext);
    });
  },
);
