import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from '@jest/globals';
import { nodeBackend } from '../src/backend.js';
import { envelopeWith } from '../src/envelope.js';
import { envelopeBackend, InvalidCiphertextError, open, seal, useEnvelopeBackend } from '../src/index.js';
import { nativeBackend, nativeUnavailable } from './backends.js';

const params = { tenantId: 'tenant-x', tkVersion: 2, context: { record: 'r9' } };

describe('envelope backend', () => {
  afterEach(() => {
    useEnvelopeBackend('node');
  });

  if (process.env.CI === 'true') {
    it('has the opt-in native addon built and passing its self-test in CI (.ci/run builds it)', () => {
      expect(nativeUnavailable).toBeUndefined();
      expect(useEnvelopeBackend('native')).toEqual({
        name: 'native',
        openssl: expect.stringMatching(/^OpenSSL 3\./),
      });
    });
  } else if (nativeBackend === undefined) {
    console.warn(`SKIPPING native backend tests: ${nativeUnavailable}`);
    it.skip(`native backend (${nativeUnavailable})`, () => undefined);
  }

  it('runs on node:crypto unless the native backend is selected', () => {
    expect(envelopeBackend()).toEqual({ name: 'node' });
  });

  if (nativeBackend === undefined) {
    it('refuses to select a native backend that is not built, and stays on node:crypto', () => {
      expect(() => useEnvelopeBackend('native')).toThrow(
        /native envelope backend unavailable: addon not loadable/,
      );
      expect(envelopeBackend()).toEqual({ name: 'node' });
    });
  } else {
    it('switches seal and open to the selected backend and back', () => {
      const tk = randomBytes(32);
      useEnvelopeBackend('native');
      expect(envelopeBackend().name).toBe('native');
      const ct = seal(tk, Buffer.from('switched'), params);
      useEnvelopeBackend('node');
      expect(envelopeBackend()).toEqual({ name: 'node' });
      expect(open(tk, ct, params).toString()).toBe('switched');
    });
  }

  if (nativeBackend !== undefined) {
    const addon = nativeBackend;
    const native = envelopeWith(addon);
    const node = envelopeWith(nodeBackend);

    it('opens on either backend what the other sealed, for every size class', () => {
      const tk = randomBytes(32);
      for (const size of [0, 1, 15, 16, 17, 1024, 65_536 + 3, 1 << 20]) {
        const pt = randomBytes(size);
        expect(node.open(tk, native.seal(tk, pt, params), params).equals(pt)).toBe(true);
        expect(native.open(tk, node.seal(tk, pt, params), params).equals(pt)).toBe(true);
      }
    });

    it('rejects on both backends what either rejects: tampered body, commitment, tag and wrong key', () => {
      const tk = randomBytes(32);
      const sealed = native.seal(tk, randomBytes(300), params);
      for (const at of [6, 40, 60, 90, sealed.length - 1]) {
        const bad = Buffer.from(sealed);
        bad[at] = (bad[at] as number) ^ 0x80;
        expect(() => native.open(tk, bad, params)).toThrow(InvalidCiphertextError);
        expect(() => node.open(tk, bad, params)).toThrow(InvalidCiphertextError);
      }
      expect(() => native.open(randomBytes(32), sealed, params)).toThrow(InvalidCiphertextError);
    });

    // The addon throws errors of Node's main realm, not jest's sandbox: compare name and code.
    const thrown = (fn: () => unknown) => {
      try {
        fn();
      } catch (err) {
        return { name: (err as Error).name, code: (err as { code?: string }).code };
      }
      return undefined;
    };

    it('refuses wrong lengths and non-byte arguments at the addon boundary with a clear error', () => {
      const b = Buffer.alloc(32);
      const badLength = { name: 'RangeError', code: 'ERR_ENVELOPE_NATIVE_ARGS' };
      expect(thrown(() => addon.sealRecord(b, b, b, b.subarray(0, 11), b, b, b, b.subarray(0, 16)))).toEqual(
        badLength,
      );
      expect(
        thrown(() => addon.gcmSeal(b.subarray(0, 16), b.subarray(0, 12), b, b, b, b.subarray(0, 16))),
      ).toEqual(badLength);
      expect(thrown(() => addon.openRecord(b, b, b, b.subarray(0, 12), b, b, b.subarray(0, 15)))).toEqual(
        badLength,
      );
      expect(thrown(() => addon.gcmSeal('x' as never, b, b, b, b, b))).toEqual({
        name: 'TypeError',
        code: 'ERR_ENVELOPE_NATIVE_ARGS',
      });
      expect(thrown(() => addon.gcmSeal(new Uint16Array(16) as never, b, b, b, b, b))).toEqual({
        name: 'TypeError',
        code: 'ERR_ENVELOPE_NATIVE_ARGS',
      });
    });
  }
});
