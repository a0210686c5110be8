import type { Db } from './db.js';

/** Tenant policy as stored (validated by the API before it gets here). */
export interface TenantPolicy {
  /** Purposes allowed on decrypt/reveal, per token role or per token id; absent = any purpose. */
  allowedPurposes?: { byRole?: Record<string, string[]>; byToken?: Record<string, string[]> };
  /** Put the declared purpose in the KMS encryption context (strict mode only). */
  purposeInKmsContext?: boolean;
  /** Lifting the kill switch needs two different tenant-admin tokens within 10 minutes. */
  restoreRequiresTwoAdmins?: boolean;
  /** AI usage spike alerts (absent fields: the defaults of the spike detector). */
  aiSpikes?: {
    enabled?: boolean;
    factor?: number;
    minSpendMicros?: number;
    minRequests?: number;
    autoSuspend?: boolean;
  };
}

/** A tenant's own token bucket (requests per second and burst), set by the platform admin. */
export interface TenantRateLimit {
  rps: number;
  burst: number;
}

/** A tenant row. */
export interface TenantRow {
  id: string;
  name: string;
  state: 'active' | 'locked' | 'deleted';
  cacheTtlSeconds: number;
  policy: TenantPolicy;
  /** Platform services its tenant admin has suspended from this tenant. */
  suspendedServices: string[];
  /** The pending first half of a two-admin restore. */
  restoreRequest: { tokenId: string; at: Date } | null;
  /** The platform admin's rate-limit override; null: the service's defaults. */
  rateLimit: TenantRateLimit | null;
  createdAt: Date;
  updatedAt: Date;
}

/** The tenant's registered customer key. */
export interface CmkRow {
  tenantId: string;
  provider: string;
  keyRef: string;
  state: 'active' | 'revoked';
  lastError: string | null;
  verifiedAt: Date;
  lastCheckAt: Date;
}

interface TenantDbRow {
  id: string;
  name: string;
  state: TenantRow['state'];
  cache_ttl_seconds: number;
  policy: TenantPolicy;
  suspended_services: string[];
  restore_requested_by: string | null;
  restore_requested_at: Date | null;
  rate_limit_rps: number | null;
  rate_limit_burst: number | null;
  created_at: Date;
  updated_at: Date;
}

const toTenant = (r: TenantDbRow): TenantRow => ({
  id: r.id,
  name: r.name,
  state: r.state,
  cacheTtlSeconds: r.cache_ttl_seconds,
  policy: r.policy,
  suspendedServices: r.suspended_services,
  restoreRequest:
    r.restore_requested_by && r.restore_requested_at
      ? { tokenId: r.restore_requested_by, at: r.restore_requested_at }
      : null,
  rateLimit:
    r.rate_limit_rps !== null && r.rate_limit_burst !== null
      ? { rps: r.rate_limit_rps, burst: r.rate_limit_burst }
      : null,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

interface CmkDbRow {
  tenant_id: string;
  provider: string;
  key_ref: string;
  state: CmkRow['state'];
  last_error: string | null;
  verified_at: Date;
  last_check_at: Date;
}

const toCmk = (r: CmkDbRow): CmkRow => ({
  tenantId: r.tenant_id,
  provider: r.provider,
  keyRef: r.key_ref,
  state: r.state,
  lastError: r.last_error,
  verifiedAt: r.verified_at,
  lastCheckAt: r.last_check_at,
});

/** Tenants and their CMK registration. */
export const tenantRepository = {
  /** Inserts a tenant; a duplicate id raises the driver's unique violation (23505). */
  async create(db: Db, t: { id: string; name: string }): Promise<TenantRow> {
    const { rows } = await db.query<TenantDbRow>(
      'INSERT INTO tenants (id, name) VALUES ($1, $2) RETURNING *',
      [t.id, t.name],
    );
    return toTenant(rows[0] as TenantDbRow);
  },

  /** The tenant, deleted ones included (callers decide what a deleted tenant means). */
  async get(db: Db, id: string): Promise<TenantRow | undefined> {
    const { rows } = await db.query<TenantDbRow>('SELECT * FROM tenants WHERE id = $1', [id]);
    return rows[0] ? toTenant(rows[0]) : undefined;
  },

  /** Sets the lifecycle state (kill switch: locked; offboarding: deleted); clears a pending restore. */
  async setState(db: Db, id: string, state: TenantRow['state']): Promise<void> {
    await db.query(
      `UPDATE tenants SET state = $2, restore_requested_by = NULL, restore_requested_at = NULL,
              updated_at = now() WHERE id = $1`,
      [id, state],
    );
  },

  /** Records the first tenant admin's restore request (two-admin restore). */
  async requestRestore(db: Db, id: string, tokenId: string): Promise<void> {
    await db.query(
      `UPDATE tenants SET restore_requested_by = $2, restore_requested_at = now(), updated_at = now()
        WHERE id = $1`,
      [id, tokenId],
    );
  },

  /** Suspends (`true`) or resumes a named service's access to the tenant. */
  async setServiceSuspended(db: Db, id: string, service: string, suspended: boolean): Promise<void> {
    await db.query(
      suspended
        ? `UPDATE tenants SET suspended_services = array_append(array_remove(suspended_services, $2), $2),
                  updated_at = now() WHERE id = $1`
        : `UPDATE tenants SET suspended_services = array_remove(suspended_services, $2), updated_at = now()
            WHERE id = $1`,
      [id, service],
    );
  },

  /** Sets (or with null clears) the tenant's rate-limit override; undefined when no such tenant. */
  async setRateLimit(db: Db, id: string, limit: TenantRateLimit | null): Promise<TenantRow | undefined> {
    const { rows } = await db.query<TenantDbRow>(
      `UPDATE tenants SET rate_limit_rps = $2, rate_limit_burst = $3, updated_at = now()
        WHERE id = $1 RETURNING *`,
      [id, limit?.rps ?? null, limit?.burst ?? null],
    );
    return rows[0] ? toTenant(rows[0]) : undefined;
  },

  /** Replaces the cache window and policy. */
  async setPolicy(
    db: Db,
    id: string,
    cacheTtlSeconds: number,
    policy: TenantPolicy,
  ): Promise<TenantRow | undefined> {
    const { rows } = await db.query<TenantDbRow>(
      'UPDATE tenants SET cache_ttl_seconds = $2, policy = $3, updated_at = now() WHERE id = $1 RETURNING *',
      [id, cacheTtlSeconds, JSON.stringify(policy)],
    );
    return rows[0] ? toTenant(rows[0]) : undefined;
  },

  /** The tenant's CMK, if one is registered. */
  async getCmk(db: Db, tenantId: string): Promise<CmkRow | undefined> {
    const { rows } = await db.query<CmkDbRow>('SELECT * FROM tenant_cmk WHERE tenant_id = $1', [tenantId]);
    return rows[0] ? toCmk(rows[0]) : undefined;
  },

  /** Registers or replaces the CMK, marking it verified now. */
  async upsertCmk(db: Db, c: { tenantId: string; provider: string; keyRef: string }): Promise<CmkRow> {
    const { rows } = await db.query<CmkDbRow>(
      `INSERT INTO tenant_cmk (tenant_id, provider, key_ref, state, verified_at, last_check_at)
       VALUES ($1, $2, $3, 'active', now(), now())
       ON CONFLICT (tenant_id) DO UPDATE SET provider = EXCLUDED.provider, key_ref = EXCLUDED.key_ref,
         state = 'active', last_error = NULL, verified_at = now(), last_check_at = now(), updated_at = now()
       RETURNING *`,
      [c.tenantId, c.provider, c.keyRef],
    );
    return toCmk(rows[0] as CmkDbRow);
  },

  /** Records the outcome of a use or probe of the CMK. */
  async setCmkState(
    db: Db,
    tenantId: string,
    state: CmkRow['state'],
    lastError: string | null,
  ): Promise<void> {
    await db.query(
      `UPDATE tenant_cmk SET state = $2, last_error = $3, last_check_at = now(), updated_at = now() WHERE tenant_id = $1`,
      [tenantId, state, lastError],
    );
  },
};
