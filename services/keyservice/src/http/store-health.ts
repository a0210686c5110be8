/**
 * What requests have lately learnt about the database, for readiness. A request refused with
 * STORE_UNAVAILABLE records it here; `/readyz` then answers 503 at once for `windowMs` instead of
 * queueing its own `SELECT 1` behind the requests already waiting for a connection.
 */
export class StoreHealth {
  private lastFailureAt = Number.NEGATIVE_INFINITY;

  constructor(
    readonly windowMs = 1000,
    private readonly now: () => number = Date.now,
  ) {}

  /** A request just failed because the database was unavailable. */
  failed(): void {
    this.lastFailureAt = this.now();
  }

  /** True while the last such failure is less than `windowMs` old. */
  recentlyFailed(): boolean {
    return this.now() - this.lastFailureAt < this.windowMs;
  }
}
