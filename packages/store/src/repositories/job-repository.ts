import type { Db } from './db.js';

/** Kinds of background job. */
export type JobKind = 'tenant-key.reencrypt';

/** Lifecycle of a job: pending -> running <-> paused -> succeeded | failed | cancelled. */
export type JobState = 'pending' | 'running' | 'paused' | 'succeeded' | 'failed' | 'cancelled';

/** A background job and its durable progress. */
export interface JobRow {
  id: string;
  tenantId: string;
  kind: JobKind;
  state: JobState;
  targetVersion: number;
  cursorName: string | null;
  cursorVersion: number | null;
  pass: number;
  done: number;
  total: number;
  errors: number;
  lastError: string | null;
  failures: number;
  leaseOwner: string | null;
  leaseUntil: Date | null;
  startedAt: Date;
  updatedAt: Date;
  finishedAt: Date | null;
}

interface Row {
  id: string;
  tenant_id: string;
  kind: JobKind;
  state: JobState;
  target_version: number;
  cursor_name: string | null;
  cursor_version: number | null;
  pass: number;
  done: string;
  total: string;
  errors: string;
  last_error: string | null;
  failures: number;
  lease_owner: string | null;
  lease_until: Date | null;
  started_at: Date;
  updated_at: Date;
  finished_at: Date | null;
}

const toJob = (r: Row): JobRow => ({
  id: r.id,
  tenantId: r.tenant_id,
  kind: r.kind,
  state: r.state,
  targetVersion: r.target_version,
  cursorName: r.cursor_name,
  cursorVersion: r.cursor_version,
  pass: r.pass,
  done: Number(r.done),
  total: Number(r.total),
  errors: Number(r.errors),
  lastError: r.last_error,
  failures: r.failures,
  leaseOwner: r.lease_owner,
  leaseUntil: r.lease_until,
  startedAt: r.started_at,
  updatedAt: r.updated_at,
  finishedAt: r.finished_at,
});

const OPEN = `state IN ('pending', 'running', 'paused')`;
// Only the lease holder writes, and only while its lease is live: a paused-then-stolen runner's
// late writes match no row.
const HELD = `id = $1 AND lease_owner = $2 AND lease_until > now() AND state = 'running'`;

/** Jobs: creation, leasing (one runner per job across instances) and progress. */
export const jobRepository = {
  /** Cancels any unfinished job of `kind` for the tenant (a newer one supersedes it). */
  async cancelOpen(db: Db, tenantId: string, kind: JobKind, reason: string): Promise<number> {
    const { rowCount } = await db.query(
      `UPDATE jobs SET state = 'cancelled', last_error = $3, lease_owner = NULL, lease_until = NULL,
         finished_at = now(), updated_at = now()
       WHERE tenant_id = $1 AND kind = $2 AND ${OPEN}`,
      [tenantId, kind, reason],
    );
    return rowCount ?? 0;
  },

  /** Creates a pending job. */
  async create(
    db: Db,
    j: { id: string; tenantId: string; kind: JobKind; targetVersion: number; total: number },
  ): Promise<JobRow> {
    const { rows } = await db.query<Row>(
      `INSERT INTO jobs (id, tenant_id, kind, target_version, total) VALUES ($1, $2, $3, $4, $5) RETURNING *`,
      [j.id, j.tenantId, j.kind, j.targetVersion, j.total],
    );
    return toJob(rows[0] as Row);
  },

  /** One job of a tenant. */
  async get(db: Db, tenantId: string, id: string): Promise<JobRow | undefined> {
    const { rows } = await db.query<Row>('SELECT * FROM jobs WHERE tenant_id = $1 AND id = $2', [
      tenantId,
      id,
    ]);
    return rows[0] ? toJob(rows[0]) : undefined;
  },

  /** True when the tenant has an unfinished job of `kind`. */
  async hasOpen(db: Db, tenantId: string, kind: JobKind): Promise<boolean> {
    const { rows } = await db.query(
      `SELECT 1 FROM jobs WHERE tenant_id = $1 AND kind = $2 AND ${OPEN} LIMIT 1`,
      [tenantId, kind],
    );
    return rows.length > 0;
  },

  /**
   * Leases one runnable job to `owner` for `leaseMs`: an unfinished job whose backoff is over and
   * whose lease is free or expired (its holder crashed). SKIP LOCKED lets instances race safely.
   */
  async claim(db: Db, owner: string, leaseMs: number): Promise<JobRow | undefined> {
    const { rows } = await db.query<Row>(
      `UPDATE jobs SET state = 'running', lease_owner = $1, lease_until = now() + $2 * interval '1 millisecond',
         updated_at = now()
       WHERE id = (
         SELECT id FROM jobs WHERE ${OPEN} AND run_after <= now() AND (lease_until IS NULL OR lease_until < now())
         ORDER BY run_after LIMIT 1 FOR UPDATE SKIP LOCKED)
         AND ${OPEN} AND (lease_until IS NULL OR lease_until < now())
       RETURNING *`,
      [owner, leaseMs],
    );
    return rows[0] ? toJob(rows[0]) : undefined;
  },

  /** Extends the lease; false when it was lost. */
  async heartbeat(db: Db, id: string, owner: string, leaseMs: number): Promise<boolean> {
    const { rowCount } = await db.query(
      `UPDATE jobs SET lease_until = now() + $3 * interval '1 millisecond' WHERE ${HELD}`,
      [id, owner, leaseMs],
    );
    return (rowCount ?? 0) > 0;
  },

  /** Records one committed batch (call in the batch's transaction); false when the lease was lost. */
  async saveProgress(
    db: Db,
    id: string,
    owner: string,
    p: { cursorName: string; cursorVersion: number; done: number; errors: number; leaseMs: number },
  ): Promise<boolean> {
    const { rowCount } = await db.query(
      `UPDATE jobs SET cursor_name = $3, cursor_version = $4, done = done + $5, errors = errors + $6,
         failures = 0, last_error = NULL, lease_until = now() + $7 * interval '1 millisecond', updated_at = now()
       WHERE ${HELD}`,
      [id, owner, p.cursorName, p.cursorVersion, p.done, p.errors, p.leaseMs],
    );
    return (rowCount ?? 0) > 0;
  },

  /** Starts another pass from the beginning (rows written with an old version during the last one). */
  async startPass(db: Db, id: string, owner: string, total: number): Promise<boolean> {
    const { rowCount } = await db.query(
      `UPDATE jobs SET pass = pass + 1, cursor_name = NULL, cursor_version = NULL, errors = 0, total = $3,
         updated_at = now()
       WHERE ${HELD}`,
      [id, owner, total],
    );
    return (rowCount ?? 0) > 0;
  },

  /** Gives the lease back (graceful shutdown) so any instance can continue at once. */
  async release(db: Db, id: string, owner: string): Promise<boolean> {
    const { rowCount } = await db.query(
      `UPDATE jobs SET lease_owner = NULL, lease_until = NULL, updated_at = now() WHERE ${HELD}`,
      [id, owner],
    );
    return (rowCount ?? 0) > 0;
  },

  /** Gives the job back with an error code; it becomes runnable again after `retryMs`. */
  async pause(db: Db, id: string, owner: string, error: string, retryMs: number): Promise<boolean> {
    const { rowCount } = await db.query(
      `UPDATE jobs SET state = 'paused', last_error = $3, failures = failures + 1, lease_owner = NULL,
         lease_until = NULL, run_after = now() + $4 * interval '1 millisecond', updated_at = now()
       WHERE ${HELD}`,
      [id, owner, error, retryMs],
    );
    return (rowCount ?? 0) > 0;
  },

  /** Ends the job. */
  async finish(
    db: Db,
    id: string,
    owner: string,
    state: 'succeeded' | 'failed',
    lastError: string | null,
  ): Promise<boolean> {
    const { rowCount } = await db.query(
      `UPDATE jobs SET state = $3, last_error = $4, lease_owner = NULL, lease_until = NULL,
         finished_at = now(), updated_at = now()
       WHERE ${HELD}`,
      [id, owner, state, lastError],
    );
    return (rowCount ?? 0) > 0;
  },
};

/** A stored secret version as the re-encryption job sees it. */
export interface ReencryptRow {
  name: string;
  version: number;
  kind: string;
  ciphertext: Buffer;
  tkVersion: number;
}

/** One re-encrypted row to write back. */
export interface ReencryptedRow {
  name: string;
  version: number;
  oldTkVersion: number;
  ciphertext: Uint8Array;
  fingerprint: string;
}

/** The secret-version queries of the re-encryption job. */
export const reencryptRepository = {
  /** Rows under a key version older than `target`, after the keyset cursor, in primary-key order. */
  async nextBatch(
    db: Db,
    tenantId: string,
    target: number,
    after: { name: string; version: number } | undefined,
    limit: number,
  ): Promise<ReencryptRow[]> {
    const { rows } = await db.query<{
      name: string;
      version: number;
      kind: string;
      ciphertext: Buffer;
      tk_version: number;
    }>(
      `SELECT name, version, kind, ciphertext, tk_version FROM secret_versions
       WHERE tenant_id = $1 AND tk_version < $2 AND (name, version) > ($3, $4)
       ORDER BY name, version LIMIT $5`,
      [tenantId, target, after?.name ?? '', after?.version ?? 0, limit],
    );
    return rows.map((r) => ({
      name: r.name,
      version: r.version,
      kind: r.kind,
      ciphertext: r.ciphertext,
      tkVersion: r.tk_version,
    }));
  },

  /** How many of the tenant's secret versions use a key version older than `version`. */
  async countBelow(db: Db, tenantId: string, version: number): Promise<number> {
    const { rows } = await db.query<{ n: string }>(
      'SELECT count(*) AS n FROM secret_versions WHERE tenant_id = $1 AND tk_version < $2',
      [tenantId, version],
    );
    return Number(rows[0]?.n ?? 0);
  },

  /**
   * Writes a batch in one statement. Each row is replaced only if it still has the key version it
   * was read with (optimistic guard), so a concurrent writer or a second runner is never overwritten.
   * Returns how many rows changed.
   */
  async apply(db: Db, tenantId: string, target: number, batch: readonly ReencryptedRow[]): Promise<number> {
    if (batch.length === 0) return 0;
    const { rowCount } = await db.query(
      `UPDATE secret_versions AS s SET ciphertext = u.ciphertext, tk_version = $2, fingerprint = u.fingerprint
       FROM unnest($3::text[], $4::int[], $5::int[], $6::bytea[], $7::text[])
         AS u(name, version, old_tk, ciphertext, fingerprint)
       WHERE s.tenant_id = $1 AND s.name = u.name AND s.version = u.version AND s.tk_version = u.old_tk`,
      [
        tenantId,
        target,
        batch.map((b) => b.name),
        batch.map((b) => b.version),
        batch.map((b) => b.oldTkVersion),
        batch.map((b) => Buffer.from(b.ciphertext.buffer, b.ciphertext.byteOffset, b.ciphertext.byteLength)),
        batch.map((b) => b.fingerprint),
      ],
    );
    return rowCount ?? 0;
  },

  /** Marks every active tenant key version below `minVersion` retired; returns how many changed. */
  async retireBelow(db: Db, tenantId: string, minVersion: number): Promise<number> {
    const { rowCount } = await db.query(
      `UPDATE tenant_keys SET state = 'retired' WHERE tenant_id = $1 AND version < $2 AND state = 'active'`,
      [tenantId, minVersion],
    );
    return rowCount ?? 0;
  },
};
