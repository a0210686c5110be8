import type { BucketStore } from '../../http/rate-limit.js';

interface Bucket {
  tokens: number;
  at: number;
}

/**
 * Per-tenant KMS call budget: a token bucket of `perSecond` calls, refilled continuously, holding
 * at most one second's worth. Past it the service answers KMS_THROTTLED itself, so a flood of
 * requests cannot spend the customer's KMS quota or bill. `perSecond` 0 turns the budget off.
 * With a `shared` bucket store (Redis, when RATE_LIMIT_REDIS_URL is set) every instance spends one
 * budget per tenant; otherwise each instance has its own.
 */
export class KmsBudget {
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    private readonly perSecond: number,
    private readonly now: () => number = Date.now,
    private readonly shared?: BucketStore,
  ) {}

  /** Takes one call from the tenant's budget; false when it is spent (the caller must not call the KMS). */
  async take(tenantId: string): Promise<boolean> {
    if (this.perSecond <= 0) return true;
    if (this.shared) {
      const r = await this.shared.take(`kms:${tenantId}`, { rps: this.perSecond, burst: this.perSecond });
      return r.ok;
    }
    return this.takeLocal(tenantId);
  }

  private takeLocal(tenantId: string): boolean {
    const t = this.now();
    const b = this.buckets.get(tenantId) ?? { tokens: this.perSecond, at: t };
    b.tokens = Math.min(this.perSecond, b.tokens + ((t - b.at) / 1000) * this.perSecond);
    b.at = t;
    this.buckets.set(tenantId, b);
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }
}
