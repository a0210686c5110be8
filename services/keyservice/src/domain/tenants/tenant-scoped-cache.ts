/** Options for {@link TenantScopedCache}. */
export interface TenantScopedCacheOptions {
  /** Longest an entry is served (the bound on staleness when a cross-instance event is missed). */
  ttlMs: number;
  /** Most entries held; the oldest goes first. */
  maxEntries: number;
  /** Monotonic clock in ms (tests inject one). */
  now?: () => number;
}

interface Entry<V> {
  value: V;
  at: number;
}

/**
 * A small read-through cache of per-tenant rows (never key material or plaintext): entries live
 * at most `ttlMs`, and are dropped at once by {@link invalidate} (a write on this instance, or a
 * tenant event from another). A read that raced an invalidation is returned but not kept, so an
 * invalidation is never undone by a query that started before it.
 */
export class TenantScopedCache<V> {
  private readonly entries = new Map<string, Entry<V>>();
  /** Bumped by every invalidation: a load that saw another epoch is not stored. */
  private epoch = 0;
  private readonly now: () => number;

  constructor(private readonly o: TenantScopedCacheOptions) {
    this.now = o.now ?? (() => performance.now());
  }

  /** The cached value of (`tenantId`, `key`), or what `load` reads (then cached). */
  async get(tenantId: string, key: string, load: () => Promise<V>): Promise<V> {
    const id = `${tenantId}\u0000${key}`;
    const hit = this.entries.get(id);
    if (hit && this.now() - hit.at < this.o.ttlMs) return hit.value;
    const epoch = this.epoch;
    const at = this.now();
    const value = await load();
    if (epoch === this.epoch) {
      this.entries.delete(id);
      if (this.entries.size >= this.o.maxEntries) {
        const oldest = this.entries.keys().next();
        if (!oldest.done) this.entries.delete(oldest.value);
      }
      this.entries.set(id, { value, at });
    }
    return value;
  }

  /** Drops the tenant's entries (one key, or all of them). */
  invalidate(tenantId: string, key?: string): void {
    this.epoch += 1;
    if (key !== undefined) {
      this.entries.delete(`${tenantId}\u0000${key}`);
      return;
    }
    const prefix = `${tenantId}\u0000`;
    for (const id of this.entries.keys()) if (id.startsWith(prefix)) this.entries.delete(id);
  }

  /** Drops everything (the event channel reconnected: notifications may have been missed). */
  clear(): void {
    this.epoch += 1;
    this.entries.clear();
  }
}
