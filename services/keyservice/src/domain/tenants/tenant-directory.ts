import { tenantKeyRepository, tenantRepository, type CmkRow, type Db, type TenantRow } from '@byok/store';

/** What a request needs to know about its tenant. */
export interface TenantView {
  tenant: TenantRow;
  cmk: CmkRow | undefined;
  currentTkVersion: number | undefined;
}

/**
 * Reads tenant state (lock, policy, CMK, current key version) with a short memory so the hot path
 * does one database round trip per `ttlMs` per tenant, not one per request. Local changes
 * invalidate at once; other instances' changes arrive within `ttlMs` (or sooner by purge).
 */
export class TenantDirectory {
  private readonly cache = new Map<string, { view: TenantView; expiresAt: number }>();

  constructor(
    private readonly db: Db,
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** The tenant's current view, or undefined when it does not exist. */
  async get(tenantId: string): Promise<TenantView | undefined> {
    const hit = this.cache.get(tenantId);
    if (hit && hit.expiresAt > this.now()) return hit.view;
    const tenant = await tenantRepository.get(this.db, tenantId);
    if (!tenant) {
      this.cache.delete(tenantId);
      return undefined;
    }
    const [cmk, current] = await Promise.all([
      tenantRepository.getCmk(this.db, tenantId),
      tenantKeyRepository.current(this.db, tenantId),
    ]);
    const view: TenantView = { tenant, cmk, currentTkVersion: current?.version };
    if (this.ttlMs > 0) this.cache.set(tenantId, { view, expiresAt: this.now() + this.ttlMs });
    return view;
  }

  /** The cached view if it is still fresh, without touching the database (the hot path's shortcut). */
  peek(tenantId: string): TenantView | undefined {
    const hit = this.cache.get(tenantId);
    return hit && hit.expiresAt > this.now() ? hit.view : undefined;
  }

  /** Forgets one tenant (after a change made here or announced by another instance). */
  invalidate(tenantId: string): void {
    this.cache.delete(tenantId);
  }

  /** Forgets everything (e.g. after missed notifications). */
  invalidateAll(): void {
    this.cache.clear();
  }
}
