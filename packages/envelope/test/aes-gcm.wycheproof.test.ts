import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from '@jest/globals';
import { EnvelopeError, InvalidCiphertextError } from '../src/index.js';
import { backends } from './backends.js';

const repoRoot = fileURLToPath(new URL('../../..', import.meta.url));
const VECTORS = path.resolve(repoRoot, '../shared/testdata/wycheproof/aes_gcm_test.json');

interface WycheproofTest {
  tcId: number;
  key: string;
  iv: string;
  aad: string;
  msg: string;
  ct: string;
  tag: string;
  result: 'valid' | 'invalid' | 'acceptable';
}
interface WycheproofGroup {
  keySize: number;
  ivSize: number;
  tagSize: number;
  tests: WycheproofTest[];
}

const hex = (s: string) => Buffer.from(s, 'hex');

/** Throws when `fn` does not throw an EnvelopeError (a plain Node error would leak through our wrapper). */
function expectEnvelopeError(fn: () => unknown): void {
  expect(fn).toThrow(EnvelopeError);
}

if (!existsSync(VECTORS)) {
  if (process.env.CI === 'true') {
    it(`finds the Wycheproof AES-GCM vectors at ${VECTORS}`, () => {
      throw new Error(`Wycheproof vectors missing: ${VECTORS}`);
    });
  } else {
    console.warn(`SKIPPING Wycheproof AES-GCM tests: file not found: ${VECTORS}`);
    it.skip(`Wycheproof AES-GCM (missing ${VECTORS})`, () => undefined);
  }
} else {
  const groups = (JSON.parse(readFileSync(VECTORS, 'utf8')) as { testGroups: WycheproofGroup[] }).testGroups;
  const inPolicy = (g: WycheproofGroup) => g.keySize === 256 && g.ivSize === 96 && g.tagSize === 128;
  const policy = groups.filter(inPolicy).flatMap((g) => g.tests);
  const outside = groups.filter((g) => !inPolicy(g)).flatMap((g) => g.tests);

  describe.each(backends)('aesGcm against Wycheproof aes_gcm_test.json, $name backend', ({ aesGcm }) => {
    it('runs more than 60 AES-256 / 96-bit IV / 128-bit tag vectors', () => {
      console.log(`Wycheproof: ${policy.length} policy vectors, ${outside.length} outside our policy`);
      expect(policy.length).toBeGreaterThan(60);
      expect(outside.length).toBeGreaterThan(0);
    });

    it('reproduces ciphertext and tag of every valid policy vector and decrypts it', () => {
      let ran = 0;
      for (const t of policy.filter((v) => v.result === 'valid')) {
        const sealed = aesGcm.seal(hex(t.key), hex(t.iv), hex(t.msg), hex(t.aad));
        expect({
          tcId: t.tcId,
          ct: sealed.ciphertext.toString('hex'),
          tag: sealed.tag.toString('hex'),
        }).toEqual({
          tcId: t.tcId,
          ct: t.ct,
          tag: t.tag,
        });
        expect(aesGcm.open(hex(t.key), hex(t.iv), hex(t.ct), hex(t.tag), hex(t.aad)).toString('hex')).toBe(
          t.msg,
        );
        ran++;
      }
      expect(ran).toBeGreaterThan(30);
    });

    it('rejects every invalid policy vector with InvalidCiphertextError', () => {
      const invalid = policy.filter((v) => v.result !== 'valid');
      expect(invalid.length).toBeGreaterThan(20);
      for (const t of invalid) {
        expect(() => aesGcm.open(hex(t.key), hex(t.iv), hex(t.ct), hex(t.tag), hex(t.aad))).toThrow(
          InvalidCiphertextError,
        );
      }
    });

    it('refuses every vector outside AES-256 / 96-bit IV / 128-bit tag, on seal and on open', () => {
      for (const t of outside) {
        expectEnvelopeError(() => aesGcm.seal(hex(t.key), hex(t.iv), hex(t.msg), hex(t.aad)));
        expectEnvelopeError(() => aesGcm.open(hex(t.key), hex(t.iv), hex(t.ct), hex(t.tag), hex(t.aad)));
      }
      expect(outside.length).toBeGreaterThan(100);
    });
  });
}
