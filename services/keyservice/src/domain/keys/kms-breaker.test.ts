import { describe, expect, it } from '@jest/globals';
import { KmsError } from '@byok/kms';
import { KmsBreaker } from './kms-breaker.js';

/** A breaker on a clock the test moves by hand. */
function breakerAt(threshold = 3, openMs = 1000) {
  let now = 1_000_000;
  const breaker = new KmsBreaker(threshold, openMs, () => now);
  return {
    breaker,
    advance: (ms: number) => {
      now += ms;
    },
  };
}

/** Runs one admitted "call" that fails with `code` (what TenantKeyService does around unwrap). */
function failCall(b: KmsBreaker, tenant: string, code = 'KMS_UNAVAILABLE'): void {
  b.admit(tenant, 'aws-kms');
  b.failure(tenant, code);
}

const refused = (b: KmsBreaker, tenant: string): string | undefined => {
  try {
    b.admit(tenant, 'aws-kms');
    return undefined;
  } catch (err) {
    return err instanceof KmsError ? err.code : 'not a KmsError';
  }
};

describe('KmsBreaker (injected clock)', () => {
  it('stays closed below the threshold and opens at it', () => {
    const { breaker } = breakerAt(3);
    failCall(breaker, 'a');
    failCall(breaker, 'a');
    expect(breaker.state('a')).toBe('closed');
    expect(refused(breaker, 'a')).toBeUndefined();
    breaker.failure('a', 'KMS_THROTTLED');
    expect(breaker.state('a')).toBe('open');
    expect(refused(breaker, 'a')).toBe('KMS_UNAVAILABLE');
  });

  it("one tenant's open circuit never refuses another tenant", () => {
    const { breaker } = breakerAt(2);
    failCall(breaker, 'victim');
    failCall(breaker, 'victim');
    expect(breaker.state('victim')).toBe('open');
    for (let i = 0; i < 10; i++) expect(refused(breaker, 'bystander')).toBeUndefined();
    expect(breaker.state('bystander')).toBe('closed');
    // And the bystander's own failures count for it alone.
    failCall(breaker, 'bystander');
    expect(breaker.state('bystander')).toBe('closed');
    expect(breaker.state('victim')).toBe('open');
  });

  it('fails fast for exactly openMs, then lets exactly one trial call through (half-open)', () => {
    const { breaker, advance } = breakerAt(1, 1000);
    failCall(breaker, 'a');
    advance(999);
    expect(refused(breaker, 'a')).toBe('KMS_UNAVAILABLE');
    advance(1);
    expect(breaker.state('a')).toBe('half-open');
    expect(breaker.admit('a', 'aws-kms')).toBe(true);
    // While the trial is in flight every other call is refused, however many arrive.
    for (let i = 0; i < 20; i++) expect(refused(breaker, 'a')).toBe('KMS_UNAVAILABLE');
    breaker.success('a');
    expect(breaker.state('a')).toBe('closed');
    expect(breaker.admit('a', 'aws-kms')).toBe(false);
    expect(refused(breaker, 'a')).toBeUndefined();
  });

  it('a failed trial opens the circuit for another openMs', () => {
    const { breaker, advance } = breakerAt(2, 500);
    failCall(breaker, 'a');
    failCall(breaker, 'a');
    advance(500);
    expect(breaker.admit('a', 'aws-kms')).toBe(true);
    breaker.failure('a', 'KMS_UNAVAILABLE');
    expect(breaker.state('a')).toBe('open');
    advance(499);
    expect(refused(breaker, 'a')).toBe('KMS_UNAVAILABLE');
    advance(1);
    expect(breaker.admit('a', 'aws-kms')).toBe(true);
    expect(refused(breaker, 'a')).toBe('KMS_UNAVAILABLE');
  });

  it('a revocation is not an outage: it never counts and it closes a trial', () => {
    const { breaker, advance } = breakerAt(2, 500);
    for (let i = 0; i < 5; i++) failCall(breaker, 'a', 'KEY_REVOKED');
    expect(breaker.state('a')).toBe('closed');
    failCall(breaker, 'a');
    failCall(breaker, 'a');
    advance(500);
    expect(breaker.admit('a', 'aws-kms')).toBe(true);
    breaker.failure('a', 'KEY_REVOKED');
    expect(breaker.state('a')).toBe('closed');
  });

  it('a success before the threshold resets the count of consecutive failures', () => {
    const { breaker } = breakerAt(3);
    failCall(breaker, 'a');
    failCall(breaker, 'a');
    breaker.success('a');
    failCall(breaker, 'a');
    failCall(breaker, 'a');
    expect(breaker.state('a')).toBe('closed');
  });
});
