import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { nodeBackend, type EnvelopeBackend } from '../src/backend.js';
import { envelopeWith } from '../src/envelope.js';
import { InvalidCiphertextError } from '../src/index.js';
import { nativeBackend, nativeUnavailable } from './backends.js';

// size 'max': lengths spread over the whole range (fast-check's default keeps arrays short).
const bytes = (min: number, max: number) => fc.uint8Array({ minLength: min, maxLength: max, size: 'max' });
const key = bytes(32, 32);
const salt = bytes(32, 32);
const iv = bytes(12, 12);
const info = bytes(0, 4600);
const plaintext = fc.oneof(bytes(0, 64), bytes(0, 4096), bytes(60_000, 70_000));
const tenantId = fc.stringMatching(/^[a-z0-9][a-z0-9-]{0,30}$/);
const context = fc.option(
  fc.dictionary(
    fc.stringMatching(/^[A-Za-z0-9._:-]{1,20}$/).filter((k) => k !== '__proto__'),
    fc.string({ maxLength: 40 }),
    { maxKeys: 6 },
  ),
  { nil: undefined },
);
/** A change to a sealed ciphertext: flip bits of one byte, cut it short, or add to its end. */
const mutation = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), mask: fc.integer({ min: 1, max: 255 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('extend' as const), extra: bytes(1, 32) }),
);

function mutate(ct: Buffer, m: MutationValue): Buffer {
  if (m.kind === 'flip') {
    const out = Buffer.from(ct);
    const at = m.at % out.length;
    out[at] = (out[at] as number) ^ m.mask;
    return out;
  }
  if (m.kind === 'truncate') return Buffer.from(ct.subarray(0, m.at % ct.length));
  return Buffer.concat([ct, m.extra]);
}
type MutationValue =
  | { kind: 'flip'; at: number; mask: number }
  | { kind: 'truncate'; at: number }
  | { kind: 'extend'; extra: Uint8Array };

/** `sealRecord` into fresh buffers: commitment | ciphertext | tag. */
function sealRecord(
  b: EnvelopeBackend,
  k: Uint8Array,
  s: Uint8Array,
  i: Uint8Array,
  v: Uint8Array,
  pt: Uint8Array,
) {
  const out = Buffer.alloc(32 + pt.length + 16);
  b.sealRecord(
    k,
    s,
    i,
    v,
    pt,
    out.subarray(0, 32),
    out.subarray(32, 32 + pt.length),
    out.subarray(32 + pt.length),
  );
  return out;
}
function openRecord(
  b: EnvelopeBackend,
  k: Uint8Array,
  s: Uint8Array,
  i: Uint8Array,
  v: Uint8Array,
  sealed: Buffer,
) {
  const n = sealed.length - 48;
  return b.openRecord(
    k,
    s,
    i,
    v,
    sealed.subarray(0, 32),
    sealed.subarray(32, 32 + n),
    sealed.subarray(32 + n),
  );
}
/** What opening gave: the plaintext as hex, or the error code. */
function outcome(fn: () => Buffer): string {
  try {
    return `ok:${fn().toString('hex')}`;
  } catch (err) {
    return err instanceof InvalidCiphertextError ? 'INVALID_CIPHERTEXT' : `other:${String(err)}`;
  }
}

const runs = { numRuns: 150 };

if (nativeBackend === undefined) {
  describe('native and node:crypto backends agree', () => {
    it.skip(`needs the native addon (${nativeUnavailable})`, () => undefined);
  });
} else {
  const native = nativeBackend;
  const onNative = envelopeWith(native);
  const onNode = envelopeWith(nodeBackend);

  describe('native and node:crypto backends agree (differential, random and mutated input)', () => {
    it('derive the same record key and commitment (HKDF-SHA-256, L = 64)', () => {
      fc.assert(
        fc.property(key, salt, info, (k, s, i) => {
          const a = native.hkdf64(k, s, i);
          const b = nodeBackend.hkdf64(k, s, i);
          expect(Buffer.concat([a.key, a.commitment]).equals(Buffer.concat([b.key, b.commitment]))).toBe(
            true,
          );
        }),
        runs,
      );
    });

    it('seal to the same bytes for the same key, salt, IV, AAD and plaintext', () => {
      fc.assert(
        fc.property(key, salt, info, iv, plaintext, (k, s, i, v, pt) => {
          expect(sealRecord(native, k, s, i, v, pt).equals(sealRecord(nodeBackend, k, s, i, v, pt))).toBe(
            true,
          );
        }),
        runs,
      );
    });

    it('AES-256-GCM alone: the same ciphertext and tag, and each opens the other', () => {
      fc.assert(
        fc.property(key, iv, info, plaintext, (k, v, aad, pt) => {
          const seal = (b: EnvelopeBackend) => {
            const ct = Buffer.alloc(pt.length);
            const tag = Buffer.alloc(16);
            b.gcmSeal(k, v, aad, pt, ct, tag);
            return { ct, tag };
          };
          const a = seal(native);
          const b = seal(nodeBackend);
          expect(a.ct.equals(b.ct) && a.tag.equals(b.tag)).toBe(true);
          expect(native.gcmOpen(k, v, aad, b.ct, b.tag)?.equals(pt)).toBe(true);
          expect(nodeBackend.gcmOpen(k, v, aad, a.ct, a.tag)?.equals(pt)).toBe(true);
        }),
        runs,
      );
    });

    it('open what the other sealed, both ways, through the whole envelope', () => {
      fc.assert(
        fc.property(key, plaintext, tenantId, context, fc.nat(), (k, pt, tenant, ctx, version) => {
          const params = { tenantId: tenant, tkVersion: version, ...(ctx ? { context: ctx } : {}) };
          expect(onNode.open(k, onNative.seal(k, pt, params), params).equals(pt)).toBe(true);
          expect(onNative.open(k, onNode.seal(k, pt, params), params).equals(pt)).toBe(true);
        }),
        runs,
      );
    });

    it('give the same answer for a mutated ciphertext: both refuse it (INVALID_CIPHERTEXT)', () => {
      fc.assert(
        fc.property(key, bytes(0, 300), tenantId, context, mutation, (k, pt, tenant, ctx, m) => {
          const params = { tenantId: tenant, tkVersion: 1, ...(ctx ? { context: ctx } : {}) };
          const bad = mutate(onNode.seal(k, pt, params), m as MutationValue);
          const a = outcome(() => onNative.open(k, bad, params));
          const b = outcome(() => onNode.open(k, bad, params));
          expect(a).toBe(b);
          expect(a).toBe('INVALID_CIPHERTEXT');
        }),
        runs,
      );
    });

    it('give the same answer for a wrong key, tenant or context', () => {
      fc.assert(
        fc.property(key, key, bytes(0, 300), tenantId, context, (k, other, pt, tenant, ctx) => {
          const params = { tenantId: tenant, tkVersion: 1, ...(ctx ? { context: ctx } : {}) };
          const ct = onNative.seal(k, pt, params);
          const tries = [
            [other, params],
            [k, { ...params, tenantId: `${tenant}x` }],
            [k, { ...params, context: { ...ctx, 'added-key-outside-gen': 'v' } }],
          ] as const;
          for (const [kk, p] of tries) {
            const a = outcome(() => onNative.open(kk, ct, p));
            expect({ a, b: outcome(() => onNode.open(kk, ct, p)) }).toEqual({
              a: 'INVALID_CIPHERTEXT',
              b: a,
            });
          }
        }),
        runs,
      );
    });

    it('refuse random commitment, body and tag alike at the record level', () => {
      fc.assert(
        fc.property(key, salt, info, iv, bytes(48, 400), (k, s, i, v, junk) => {
          const sealed = Buffer.from(junk);
          expect(openRecord(native, k, s, i, v, sealed)).toBeUndefined();
          expect(openRecord(nodeBackend, k, s, i, v, sealed)).toBeUndefined();
        }),
        runs,
      );
    });
  });
}
