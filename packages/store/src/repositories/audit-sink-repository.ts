import type { Db } from './db.js';

/** A SIEM sink row as stored (the HMAC secret only sealed). */
export interface AuditSinkRow {
  id: string;
  tenant_id: string;
  url: string;
  secret_sealed: Buffer;
  batch_size: number;
  enabled: boolean;
  last_delivered_seq: string;
  attempts: number;
  last_error: string | null;
  last_attempt_at: Date | null;
  last_success_at: Date | null;
  next_attempt_at: Date;
  created_at: Date;
}

/** A sink row with the head of its tenant's audit chain (for the delivery lag). */
export type AuditSinkWithHead = AuditSinkRow & { head_seq: string | null };

/** What registering a sink stores. */
export interface NewAuditSink {
  id: string;
  tenantId: string;
  url: string;
  secretSealed: Uint8Array;
  batchSize: number;
  /** Start after the chain's current head instead of replaying it from the beginning. */
  startAtHead: boolean;
}

/** SIEM webhook sinks of the audit log and their delivery state. */
export const auditSinkRepository = {
  /** Stores a new sink; its cursor starts at 0 or at the chain's current head. */
  async insert(db: Db, s: NewAuditSink): Promise<void> {
    await db.query(
      `INSERT INTO audit_sinks (id, tenant_id, url, secret_sealed, batch_size, last_delivered_seq)
       VALUES ($1, $2, $3, $4, $5,
         CASE WHEN $6 THEN COALESCE((SELECT seq FROM audit_chain_heads WHERE chain = $2), 0) ELSE 0 END)`,
      [s.id, s.tenantId, s.url, Buffer.from(s.secretSealed), s.batchSize, s.startAtHead],
    );
  },

  /** The tenant's sinks (or the one with `id`) with their chain head, oldest first. */
  async list(db: Db, tenantId: string, id?: string): Promise<AuditSinkWithHead[]> {
    const { rows } = await db.query<AuditSinkWithHead>(
      `SELECT s.*, h.seq AS head_seq FROM audit_sinks s LEFT JOIN audit_chain_heads h ON h.chain = s.tenant_id
       WHERE s.tenant_id = $1 AND ($2::text IS NULL OR s.id = $2) ORDER BY s.created_at`,
      [tenantId, id ?? null],
    );
    return rows;
  },

  /** Stops delivery to a sink; false when the tenant has no such sink. */
  async disable(db: Db, tenantId: string, id: string): Promise<boolean> {
    const r = await db.query('UPDATE audit_sinks SET enabled = false WHERE tenant_id = $1 AND id = $2', [
      tenantId,
      id,
    ]);
    return (r.rowCount ?? 0) > 0;
  },

  /** How many enabled sinks the tenant has (for the per-tenant cap). */
  async countEnabled(db: Db, tenantId: string): Promise<number> {
    const { rows } = await db.query<{ n: string }>(
      'SELECT count(*) AS n FROM audit_sinks WHERE tenant_id = $1 AND enabled',
      [tenantId],
    );
    return Number(rows[0]?.n ?? 0);
  },

  /**
   * Leases the most overdue enabled sink (not in `skipSinks`) of each tenant not in `skipTenants` (at most `limit`
   * tenants): one autocommitted statement moves their `next_attempt_at` `leaseMs` ahead, so no
   * lock or connection is held while delivering, and another instance passes them over until
   * the lease runs out (then a crashed delivery is retried).
   */
  async leaseDue(
    db: Db,
    skipTenants: readonly string[],
    skipSinks: readonly string[],
    limit: number,
    leaseMs: number,
  ): Promise<AuditSinkRow[]> {
    const { rows } = await db.query<AuditSinkRow>(
      `WITH due AS (
         SELECT id, tenant_id, next_attempt_at FROM audit_sinks
         WHERE enabled AND next_attempt_at <= now() AND NOT (tenant_id = ANY($1::text[]))
           AND NOT (id = ANY($4::text[]))
         FOR UPDATE SKIP LOCKED),
       first_per_tenant AS (
         SELECT DISTINCT ON (tenant_id) id, next_attempt_at FROM due ORDER BY tenant_id, next_attempt_at),
       picked AS (SELECT id FROM first_per_tenant ORDER BY next_attempt_at LIMIT $2)
       UPDATE audit_sinks s SET next_attempt_at = now() + make_interval(secs => $3::double precision / 1000)
       FROM picked WHERE s.id = picked.id RETURNING s.*`,
      [skipTenants, limit, leaseMs, skipSinks],
    );
    return rows;
  },

  /** Ends a lease with nothing delivered (no new events): the sink is due again at once. */
  async releaseLease(db: Db, id: string): Promise<void> {
    await db.query('UPDATE audit_sinks SET next_attempt_at = now() WHERE id = $1', [id]);
  },

  /** Records an acknowledged delivery up to `lastSeq`; the sink is due again at once. */
  async markDelivered(tx: Db, id: string, lastSeq: number): Promise<void> {
    await tx.query(
      `UPDATE audit_sinks SET last_delivered_seq = $2, attempts = 0, last_error = NULL, last_attempt_at = now(),
         last_success_at = now(), next_attempt_at = now() WHERE id = $1`,
      [id, lastSeq],
    );
  },

  /** Records a failed attempt; the sink is due again after `retryMs`. */
  async markFailed(tx: Db, id: string, attempts: number, error: string, retryMs: number): Promise<void> {
    await tx.query(
      `UPDATE audit_sinks SET attempts = $2, last_error = $3, last_attempt_at = now(),
         next_attempt_at = now() + make_interval(secs => $4::double precision / 1000) WHERE id = $1`,
      [id, attempts, error, retryMs],
    );
  },

  /** Every sink's sealed secret (for re-sealing under a new key at start). */
  async listSealed(db: Db): Promise<Pick<AuditSinkRow, 'id' | 'tenant_id' | 'secret_sealed'>[]> {
    const { rows } = await db.query<Pick<AuditSinkRow, 'id' | 'tenant_id' | 'secret_sealed'>>(
      'SELECT id, tenant_id, secret_sealed FROM audit_sinks ORDER BY id',
    );
    return rows;
  },

  /** Replaces a sink's sealed secret only if it is still `before` (another instance may have re-sealed it). */
  async reseal(db: Db, id: string, before: Uint8Array, after: Uint8Array): Promise<boolean> {
    const r = await db.query(
      'UPDATE audit_sinks SET secret_sealed = $3 WHERE id = $1 AND secret_sealed = $2',
      [id, Buffer.from(before), Buffer.from(after)],
    );
    return (r.rowCount ?? 0) > 0;
  },
};
