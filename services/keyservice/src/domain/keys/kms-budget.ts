interface Bucket {
  tokens: number;
  at: number;
}

/**
 * Per-tenant KMS call budget: a token bucket of `perSecond` calls, refilled continuously, holding
 * at most one second's worth. Past it the service answers KMS_THROTTLED itself, so a flood of
 * requests cannot spend the customer's KMS quota or bill. `perSecond` 0 turns the budget off.
 */
export class KmsBudget {
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    private readonly perSecond: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Takes one call from the tenant's budget; false when it is spent (the caller must not call the KMS). */
  take(tenantId: string): boolean {
    if (this.perSecond <= 0) return true;
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
