import { describe, expect, it } from '@jest/globals';
import {
  canonicalContext,
  CONTEXT_KEY_PATTERN,
  InvalidContextError,
  type Context,
  type ContextKeyRule,
} from '../src/index.js';

const bad =
  (ctx: unknown, rule: ContextKeyRule = 'seal') =>
  () =>
    canonicalContext(ctx as Context, rule);

describe('canonicalContext', () => {
  it('gives {} for undefined and for an empty object', () => {
    expect(canonicalContext(undefined)).toBe('{}');
    expect(canonicalContext({})).toBe('{}');
  });

  it('sorts keys so that insertion order does not matter', () => {
    expect(canonicalContext({ b: '2', a: '1', B: '3' })).toBe('{"B":"3","a":"1","b":"2"}');
    expect(canonicalContext({ a: '1', b: '2', B: '3' })).toBe(canonicalContext({ B: '3', b: '2', a: '1' }));
  });

  it('escapes quotes and control characters as JSON (keys outside the seal rule: open only)', () => {
    expect(canonicalContext({ 'k"': 'v\n\u0001' }, 'open')).toBe('{"k\\"":"v\\n\\u0001"}');
    expect(JSON.parse(canonicalContext({ é: '😀' }, 'open'))).toEqual({ é: '😀' });
    expect(JSON.parse(canonicalContext({ k: 'é😀"\n' }))).toEqual({ k: 'é😀"\n' });
  });

  it('binds on seal only keys of 1-64 letters, digits, dots, underscores, colons or dashes', () => {
    expect(canonicalContext({ 'a.B_c:d-9': 'v', ['k'.repeat(64)]: 'v' })).toContain('a.B_c:d-9');
    for (const key of ['k"', 'é', 'ключ', 'user id', 'a/b', 'k'.repeat(65), '\u0000']) {
      expect(bad({ [key]: 'v' })).toThrow(InvalidContextError);
      expect(() => canonicalContext({ [key]: 'v' }, 'open')).not.toThrow();
    }
  });

  it('never seals a __proto__ key, which object spreads and schema libraries drop', () => {
    const ctx = JSON.parse('{"__proto__":"x","a":"1"}') as Context;
    expect(Object.keys(ctx)).toContain('__proto__');
    expect(CONTEXT_KEY_PATTERN.test('__proto__')).toBe(true);
    expect(bad(ctx)).toThrow(InvalidContextError);
  });

  it('accepts an object without a prototype', () => {
    const ctx = Object.assign(Object.create(null) as Record<string, string>, { a: '1' });
    expect(canonicalContext(ctx)).toBe('{"a":"1"}');
  });

  it('rejects a context that is not a plain object', () => {
    for (const ctx of [null, 'a', 1, ['a'], new Map([['a', '1']]), new Date()]) {
      expect(bad(ctx)).toThrow(InvalidContextError);
    }
  });

  it('rejects non-string values', () => {
    for (const v of [1, true, null, undefined, { x: '1' }, ['1']])
      expect(bad({ a: v })).toThrow(InvalidContextError);
  });

  it('rejects an empty key', () => {
    expect(bad({ '': 'x' })).toThrow(InvalidContextError);
    expect(bad({ '': 'x' }, 'open')).toThrow(InvalidContextError);
  });

  it('rejects lone surrogates, which UTF-8 cannot carry unambiguously', () => {
    expect(bad({ a: '\uD800' })).toThrow(InvalidContextError);
    expect(bad({ '\uDC00': 'a' }, 'open')).toThrow(InvalidContextError);
  });

  it('accepts 32 keys and rejects 33', () => {
    const ctx: Record<string, string> = {};
    for (let i = 0; i < 32; i++) ctx[`k${i}`] = 'v';
    expect(() => canonicalContext(ctx)).not.toThrow();
    ctx.k32 = 'v';
    expect(bad(ctx)).toThrow(InvalidContextError);
  });

  it('accepts 4096 bytes of canonical JSON and rejects 4097, counting UTF-8 bytes', () => {
    // {"a":"..."} has 8 bytes of overhead.
    expect(Buffer.byteLength(canonicalContext({ a: 'x'.repeat(4088) }))).toBe(4096);
    expect(bad({ a: 'x'.repeat(4089) })).toThrow(InvalidContextError);
    expect(bad({ a: 'é'.repeat(2045) })).toThrow(InvalidContextError);
  });

  it('has the stable code INVALID_CONTEXT', () => {
    expect(bad({ a: 1 })).toThrow(expect.objectContaining({ code: 'INVALID_CONTEXT' }) as unknown as Error);
  });
});
