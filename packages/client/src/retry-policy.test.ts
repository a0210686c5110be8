import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { computeDelayMs, DEFAULT_RETRY_POLICY, parseRetryAfter, resolveRetryPolicy } from './retry-policy.js';

describe('retry policy', () => {
  it('defaults to 3 attempts, 100 ms base, 2 s cap', () => {
    expect(resolveRetryPolicy(undefined)).toMatchObject({
      maxAttempts: 3,
      baseDelayMs: 100,
      maxDelayMs: 2000,
    });
    expect(resolveRetryPolicy({ maxAttempts: 5, baseDelayMs: undefined })).toMatchObject({
      maxAttempts: 5,
      baseDelayMs: 100,
    });
  });

  it('rejects settings that would retry forever or wait a negative time', () => {
    for (const bad of [{ maxAttempts: 0 }, { maxAttempts: 21 }, { maxAttempts: 1.5 }, { maxDelayMs: -1 }])
      expect(() => resolveRetryPolicy(bad)).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
  });

  it('parses Retry-After as seconds or an HTTP date, and ignores garbage', () => {
    const now = Date.parse('2026-11-23T10:00:00Z');
    expect(parseRetryAfter('3', now)).toBe(3000);
    expect(parseRetryAfter(' 0 ', now)).toBe(0);
    expect(parseRetryAfter('Mon, 23 Nov 2026 10:00:07 GMT', now)).toBe(7000);
    expect(parseRetryAfter('Mon, 23 Nov 2026 09:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter(null, now)).toBeUndefined();
    expect(parseRetryAfter('-1', now)).toBeUndefined();
    expect(parseRetryAfter('1.5', now)).toBeUndefined();
    expect(parseRetryAfter('soon', now)).toBeUndefined();
  });

  it('draws full-jitter delays below min(cap, base * 2^(n-1)), never under Retry-After', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 12 }),
        fc.double({ min: 0, max: 0.999999, noNaN: true }),
        fc.option(fc.nat(60_000), { nil: undefined }),
        (retry, r, retryAfter) => {
          const d = computeDelayMs(DEFAULT_RETRY_POLICY, retry, () => r, retryAfter);
          const ceiling = Math.min(2000, 100 * 2 ** (retry - 1));
          if (retryAfter === undefined) {
            expect(d).toBeGreaterThanOrEqual(0);
            expect(d).toBeLessThan(ceiling);
          } else expect(d).toBe(Math.max(retryAfter, Math.floor(r * ceiling)));
        },
      ),
    );
  });
});
