import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { generateTenantKey, InvalidCiphertextError, readHeader } from '../src/index.js';
import { backends } from './backends.js';

const tenantKey = fc.uint8Array({ minLength: 32, maxLength: 32 });
const plaintext = fc.uint8Array({ minLength: 0, maxLength: 4096 });
const tenantId = fc.string({ minLength: 1, maxLength: 20, unit: 'grapheme' });
const context = fc.option(
  // Keys as seal binds them (CONTEXT_KEY_PATTERN).
  fc.dictionary(
    fc.stringMatching(/^[A-Za-z0-9._:-]{1,20}$/).filter((k) => k !== '__proto__'),
    fc.string({ maxLength: 40 }),
    { maxKeys: 8 },
  ),
  { nil: undefined },
);
const tkVersion = fc.integer({ min: 0, max: 0xffffffff });

/** Asserts `fn` throws InvalidCiphertextError and nothing else. */
function rejects(fn: () => unknown): boolean {
  try {
    fn();
  } catch (err) {
    return err instanceof InvalidCiphertextError && err.code === 'INVALID_CIPHERTEXT';
  }
  return false;
}

const fixedKey = generateTenantKey();
const fixed = { tenantId: 'tenant-prop', tkVersion: 3, context: { record: 'r' } };

describe.each(backends)('envelope properties, $name backend', ({ seal, open }) => {
  it('round-trips any plaintext, tenant, context and key version', () => {
    fc.assert(
      fc.property(tenantKey, plaintext, tenantId, context, tkVersion, (key, pt, tenant, ctx, version) => {
        const ct = seal(key, pt, { tenantId: tenant, tkVersion: version, context: ctx });
        expect(readHeader(ct)).toEqual({ version: 1, alg: 2, tkVersion: version });
        expect(open(key, ct, { tenantId: tenant, context: ctx })).toEqual(Buffer.from(pt));
      }),
      { numRuns: 200 },
    );
  });

  it('rejects any single-bit flip anywhere in the ciphertext', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 256 }),
        fc.nat(),
        fc.integer({ min: 0, max: 7 }),
        (pt, pos, bit) => {
          const ct = seal(fixedKey, pt, fixed);
          const at = pos % ct.length;
          ct[at] = (ct[at] as number) ^ (1 << bit);
          return rejects(() => open(fixedKey, ct, fixed));
        },
      ),
      { numRuns: 500 },
    );
  });

  it('rejects every single-bit flip of one small ciphertext, exhaustively', () => {
    const ct = seal(fixedKey, Buffer.from('exhaustive'), fixed);
    for (let at = 0; at < ct.length; at++) {
      for (let bit = 0; bit < 8; bit++) {
        const bad = Buffer.from(ct);
        bad[at] = (bad[at] as number) ^ (1 << bit);
        expect(rejects(() => open(fixedKey, bad, fixed))).toBe(true);
      }
    }
  });

  it('rejects truncation at any length', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), fc.nat(), (pt, cut) => {
        const ct = seal(fixedKey, pt, fixed);
        return rejects(() => open(fixedKey, ct.subarray(0, cut % ct.length), fixed));
      }),
      { numRuns: 300 },
    );
  });

  it('rejects a wrong tenant, context or key', () => {
    fc.assert(
      fc.property(
        tenantKey,
        tenantKey,
        plaintext,
        tenantId,
        tenantId,
        context,
        context,
        (k1, k2, pt, t1, t2, c1, c2) => {
          const ct = seal(k1, pt, { tenantId: t1, tkVersion: 1, context: c1 });
          if (t1 !== t2) expect(rejects(() => open(k1, ct, { tenantId: t2, context: c1 }))).toBe(true);
          if (
            JSON.stringify(Object.entries(c1 ?? {}).sort()) !==
            JSON.stringify(Object.entries(c2 ?? {}).sort())
          ) {
            expect(rejects(() => open(k1, ct, { tenantId: t1, context: c2 }))).toBe(true);
          }
          if (!Buffer.from(k1).equals(Buffer.from(k2))) {
            expect(rejects(() => open(k2, ct, { tenantId: t1, context: c1 }))).toBe(true);
          }
        },
      ),
      { numRuns: 100 },
    );
  });

  it('rejects any changed version or algorithm byte (readHeader too, unless it names a known one)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1 }), fc.integer({ min: 0, max: 255 }), (at, value) => {
        const ct = seal(fixedKey, Buffer.from('v'), fixed);
        fc.pre(value !== ct[at]);
        ct[at] = value;
        const known = at === 1 && (value === 0x01 || value === 0x02);
        return rejects(() => open(fixedKey, ct, fixed)) && (known || rejects(() => readHeader(ct)));
      }),
    );
  });
});
