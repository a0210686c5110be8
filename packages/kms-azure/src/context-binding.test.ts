import { randomBytes } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import { BOUND_KEY_BYTES, bindContext, canonicalContext, unbindContext } from './context-binding.js';
import { decodeAzureBlob, encodeAzureBlob } from './wrapped-blob.js';

describe('context binding', () => {
  it('canonicalizes the context with sorted keys, whatever the insertion order', () => {
    expect(canonicalContext({ b: '2', a: '1' })).toBe('{"a":"1","b":"2"}');
    expect(canonicalContext({ a: '1', b: '2' })).toBe(canonicalContext({ b: '2', a: '1' }));
  });

  it('returns the data key only under the same context', () => {
    const dk = randomBytes(32);
    const bound = bindContext(dk, { tenant: 'a', v: '1' });
    expect(bound.length).toBe(BOUND_KEY_BYTES);
    expect(unbindContext(bound, { v: '1', tenant: 'a' })?.equals(dk)).toBe(true);
    expect(unbindContext(bound, { tenant: 'b', v: '1' })).toBeUndefined();
    expect(unbindContext(bound, {})).toBeUndefined();
  });

  it('adds a fresh nonce, so equal data keys do not give equal inputs to A256KW', () => {
    const dk = randomBytes(32);
    expect(bindContext(dk, {}).equals(bindContext(dk, {}))).toBe(false);
  });

  it('rejects a bound value of the wrong length', () => {
    expect(unbindContext(randomBytes(BOUND_KEY_BYTES - 1), {})).toBeUndefined();
    expect(unbindContext(randomBytes(32), {})).toBeUndefined();
  });

  it('refuses a context value that is not a string', () => {
    expect(() => canonicalContext({ a: 1 as unknown as string })).toThrow('must be a string');
  });
});

describe('wrapped blob format', () => {
  it('round-trips kid and wrapped bytes', () => {
    const kid = 'https://v.vault.azure.net/keys/k/0123456789abcdef0123456789abcdef';
    const wrapped = randomBytes(256);
    const blob = encodeAzureBlob(kid, wrapped);
    expect(blob[0]).toBe(0x01);
    const decoded = decodeAzureBlob(blob);
    expect(decoded?.kid).toBe(kid);
    expect(decoded?.wrapped.equals(wrapped)).toBe(true);
  });

  it('pins the layout: version | u16 kid length | kid | wrapped', () => {
    expect(encodeAzureBlob('ab', Buffer.from([9])).toString('hex')).toBe('0100026162' + '09');
  });
});
