import { startTicker, type Ticker } from '../jobs/job-runner.js';

/** One unwrapped tenant key held in memory. */
export interface CachedKey {
  key: Buffer;
  expiresAt: number;
}

/**
 * Unwrapped tenant keys, expiring a fixed time after unwrap (not after last use), zeroed on
 * eviction. A per-tenant generation counter lets a purge win over an unwrap still in flight.
 */
export class TenantKeyCache {
  private readonly entries = new Map<string, CachedKey>();
  private readonly generations = new Map<string, number>();
  private readonly sweeper: Ticker;

  constructor(private readonly now: () => number = Date.now) {
    this.sweeper = startTicker(1000, () => this.sweep());
  }

  private static id(tenantId: string, version: number): string {
    return `${tenantId}\u0000${version}`;
  }

  /** The live entry, or undefined (an expired entry is zeroed and dropped here). */
  get(tenantId: string, version: number): CachedKey | undefined {
    const id = TenantKeyCache.id(tenantId, version);
    const e = this.entries.get(id);
    if (!e) return undefined;
    if (e.expiresAt <= this.now()) {
      this.evict(id, e);
      return undefined;
    }
    return e;
  }

  /** The tenant's purge generation; capture it before an unwrap, pass it to {@link put}. */
  generation(tenantId: string): number {
    return this.generations.get(tenantId) ?? 0;
  }

  /**
   * Caches a key unless the tenant was purged since `generation` (or caching is off). Returns
   * false when it did not keep the key: the caller must zero it.
   */
  put(tenantId: string, version: number, key: Buffer, ttlMs: number, generation: number): boolean {
    if (ttlMs <= 0 || generation !== this.generation(tenantId)) return false;
    const id = TenantKeyCache.id(tenantId, version);
    const old = this.entries.get(id);
    if (old) this.evict(id, old);
    this.entries.set(id, { key, expiresAt: this.now() + ttlMs });
    return true;
  }

  /** Zeroes and drops every key of a tenant, and invalidates unwraps in flight. */
  purgeTenant(tenantId: string): number {
    this.generations.set(tenantId, this.generation(tenantId) + 1);
    let n = 0;
    for (const [id, e] of this.entries) {
      if (id.startsWith(`${tenantId}\u0000`)) {
        this.evict(id, e);
        n++;
      }
    }
    return n;
  }

  /** Zeroes and drops everything. */
  purgeAll(): void {
    for (const tenantId of new Set([...this.entries.keys()].map((id) => id.split('\u0000')[0] ?? '')))
      this.purgeTenant(tenantId);
    for (const t of this.generations.keys()) this.generations.set(t, this.generation(t) + 1);
  }

  /** Tenants that have at least one live key cached here (what the health probe watches). */
  tenants(): string[] {
    return [...new Set([...this.entries.keys()].map((id) => id.split('\u0000')[0] ?? ''))];
  }

  /** Number of cached keys. */
  get size(): number {
    return this.entries.size;
  }

  /** Stops the sweeper and zeroes everything. */
  close(): void {
    this.sweeper.stop();
    this.purgeAll();
  }

  private sweep(): void {
    const t = this.now();
    for (const [id, e] of this.entries) if (e.expiresAt <= t) this.evict(id, e);
  }

  private evict(id: string, e: CachedKey): void {
    this.entries.delete(id);
    e.key.fill(0);
  }
}
