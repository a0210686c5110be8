import { randomBytes } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import { backends } from './backends.js';

const params = { tenantId: 'tenant-mem', tkVersion: 1, context: { record: 'r1' } };

/** True when `b` is the whole of its ArrayBuffer, not a slice of Node's shared 8 KiB pool. */
const ownsItsMemory = (b: Buffer) => b.byteOffset === 0 && b.buffer.byteLength === b.byteLength;

describe.each(backends)('plaintext and derived keys get memory of their own, $name backend', (b) => {
  it('open returns plaintext in its own memory, for small and large records', () => {
    const tk = randomBytes(32);
    for (const size of [1, 16, 100, 4095, 70_000]) {
      const pt = b.open(tk, b.seal(tk, randomBytes(size), params), params);
      expect({ size, own: ownsItsMemory(pt) }).toEqual({ size, own: true });
    }
  });

  it('AES-GCM open returns plaintext in its own memory', () => {
    const [key, iv] = [randomBytes(32), randomBytes(12)];
    const aad = Buffer.from('aad');
    const { ciphertext, tag } = b.aesGcm.seal(key, iv, randomBytes(100), aad);
    expect(ownsItsMemory(b.aesGcm.open(key, iv, ciphertext, tag, aad))).toBe(true);
  });

  it('HKDF returns the record key and commitment outside the shared pool', () => {
    const { key, commitment } = b.backend.hkdf64(randomBytes(32), randomBytes(32), Buffer.from('info'));
    // Both halves may share one 64-byte allocation (native) or have one each (node), never a pool slab.
    expect([key.buffer.byteLength, commitment.buffer.byteLength].every((n) => n <= 64)).toBe(true);
  });
});
