import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { nodeBackend } from '../src/backend.js';
import { envelopeWith } from '../src/envelope.js';
import { EnvelopeError, FORMAT_V1 } from '../src/index.js';
import { fuzzParams } from '../../../test/support/fuzz-params.js';
import { nativeBackend, nativeUnavailable } from './backends.js';

// `open` on arbitrary bytes and on mutated valid ciphertexts: the native and node:crypto backends
// give the same answer (the same plaintext, or the same error class and code), and a changed
// ciphertext never opens. 2,000 cases per property in CI; `pnpm fuzz` runs FUZZ_RUNS (100,000).
// Replay a failure: FUZZ_SEED=<seed> FUZZ_PATH=<path> pnpm fuzz (fast-check prints both).

const bytes = (min: number, max: number) => fc.uint8Array({ minLength: min, maxLength: max });
const key = bytes(32, 32);
const tenantId = fc.stringMatching(/^[a-z0-9][a-z0-9-]{0,20}$/);
const context = fc.option(
  // Valid context keys only (the envelope refuses `__proto__` by design; that refusal has its own tests).
  fc.dictionary(
    fc.stringMatching(/^[A-Za-z0-9._:-]{1,12}$/).filter((k) => k !== '__proto__'),
    fc.string({ maxLength: 16 }),
    { maxKeys: 4 },
  ),
  { nil: undefined },
);
const HEADER = 1 + 1 + 4 + 32 + 12 + 32;

/** Bytes that look more and more like a ciphertext: random, the right version byte, a whole header. */
const junk = fc.oneof(
  bytes(0, 256),
  bytes(0, 256).map((b) => Buffer.concat([Buffer.from([FORMAT_V1]), b])),
  fc
    .tuple(fc.integer({ min: 0, max: 255 }), fc.nat(), bytes(HEADER - 6, HEADER - 6), bytes(0, 80))
    .map(([alg, v, rest, body]) => {
      const head = Buffer.alloc(6);
      head[0] = FORMAT_V1;
      head[1] = alg;
      head.writeUInt32BE(v >>> 0, 2);
      return Buffer.concat([head, rest, body]);
    }),
);

/** Changes to a valid ciphertext: bit flips, cuts, additions, splices, a swapped field. */
const mutation = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), mask: fc.integer({ min: 1, max: 255 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('extend' as const), extra: bytes(1, 40) }),
  fc.record({
    kind: fc.constant('splice' as const),
    at: fc.nat(),
    cut: fc.nat({ max: 40 }),
    extra: bytes(0, 40),
  }),
  fc.record({ kind: fc.constant('tk-version' as const), value: fc.nat() }),
);
type Mutation =
  | { kind: 'flip'; at: number; mask: number }
  | { kind: 'truncate'; at: number }
  | { kind: 'extend'; extra: Uint8Array }
  | { kind: 'splice'; at: number; cut: number; extra: Uint8Array }
  | { kind: 'tk-version'; value: number };

function mutate(ct: Buffer, m: Mutation): Buffer {
  const at = (n: number) => n % ct.length;
  switch (m.kind) {
    case 'flip': {
      const out = Buffer.from(ct);
      out[at(m.at)] = (out[at(m.at)] as number) ^ m.mask;
      return out;
    }
    case 'truncate':
      return Buffer.from(ct.subarray(0, at(m.at)));
    case 'extend':
      return Buffer.concat([ct, m.extra]);
    case 'splice':
      return Buffer.concat([ct.subarray(0, at(m.at)), m.extra, ct.subarray(at(m.at) + m.cut)]);
    case 'tk-version': {
      const out = Buffer.from(ct);
      out.writeUInt32BE(m.value >>> 0, 2);
      return out;
    }
  }
}

/** What opening gave: the plaintext, or the error's class and code (anything else is reported as is). */
function outcome(fn: () => Buffer): string {
  try {
    return `ok:${fn().toString('hex')}`;
  } catch (err) {
    return err instanceof EnvelopeError ? `${err.name}:${err.code}` : `unexpected:${String(err)}`;
  }
}

// Pure and fast: failures are shrunk to a small counterexample.
const params = { ...fuzzParams(), endOnFailure: false };

if (nativeBackend === undefined) {
  describe('envelope fuzzing on both backends', () => {
    it.skip(`needs the native addon (${nativeUnavailable})`, () => undefined);
  });
} else {
  const onNative = envelopeWith(nativeBackend);
  const onNode = envelopeWith(nodeBackend);

  describe('envelope fuzzing: open on both backends (arbitrary and mutated ciphertexts)', () => {
    it('arbitrary bytes: both backends refuse them the same way (INVALID_CIPHERTEXT)', () => {
      fc.assert(
        fc.property(key, junk, tenantId, context, (k, ct, tenant, ctx) => {
          const p = { tenantId: tenant, ...(ctx ? { context: ctx } : {}) };
          const a = outcome(() => onNative.open(k, ct, p));
          expect({ native: a, node: outcome(() => onNode.open(k, ct, p)) }).toEqual({
            native: 'InvalidCiphertextError:INVALID_CIPHERTEXT',
            node: a,
          });
        }),
        params,
      );
    });

    it('mutated valid ciphertexts: both backends give the same answer, and a changed ciphertext never opens', () => {
      fc.assert(
        fc.property(
          key,
          bytes(0, 200),
          tenantId,
          context,
          fc.nat({ max: 1000 }),
          fc.boolean(),
          mutation,
          (k, pt, tenant, ctx, tkVersion, sealOnNative, m) => {
            const p = { tenantId: tenant, tkVersion, ...(ctx ? { context: ctx } : {}) };
            const ct = (sealOnNative ? onNative : onNode).seal(k, pt, p);
            const bad = mutate(ct, m as Mutation);
            const a = outcome(() => onNative.open(k, bad, p));
            const b = outcome(() => onNode.open(k, bad, p));
            expect(a).toBe(b);
            // Some mutations change nothing (a splice that puts back what it cut): those open.
            expect(a).toBe(
              bad.equals(ct)
                ? `ok:${Buffer.from(pt).toString('hex')}`
                : 'InvalidCiphertextError:INVALID_CIPHERTEXT',
            );
          },
        ),
        params,
      );
    });
  });
}
