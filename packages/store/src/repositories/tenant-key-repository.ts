import type { Db } from './db.js';

/** A wrapped tenant key version. */
export interface TenantKeyRow {
  tenantId: string;
  version: number;
  wrapped: Buffer | null;
  cmkProvider: string;
  cmkKeyRef: string;
  cmkKeyVersion: string | null;
  state: 'active' | 'retired' | 'destroyed';
  createdAt: Date;
}

interface Row {
  tenant_id: string;
  version: number;
  wrapped: Buffer | null;
  cmk_provider: string;
  cmk_key_ref: string;
  cmk_key_version: string | null;
  state: TenantKeyRow['state'];
  created_at: Date;
}

const toRow = (r: Row): TenantKeyRow => ({
  tenantId: r.tenant_id,
  version: r.version,
  wrapped: r.wrapped,
  cmkProvider: r.cmk_provider,
  cmkKeyRef: r.cmk_key_ref,
  cmkKeyVersion: r.cmk_key_version,
  state: r.state,
  createdAt: r.created_at,
});

/** A tenant-key version in its wrapped form, as insert and rewrap store it. */
export interface WrappedTenantKey {
  tenantId: string;
  version: number;
  wrapped: Uint8Array;
  cmkProvider: string;
  cmkKeyRef: string;
  cmkKeyVersion?: string | undefined;
}

/** Wrapped tenant keys (TK_v). Plaintext keys never reach this module. */
export const tenantKeyRepository = {
  /** Stores a new wrapped version. */
  async insert(db: Db, k: WrappedTenantKey): Promise<void> {
    await db.query(
      `INSERT INTO tenant_keys (tenant_id, version, wrapped, cmk_provider, cmk_key_ref, cmk_key_version)
       VALUES ($1, $2, $3, $4, $5, $6)`,
      [k.tenantId, k.version, Buffer.from(k.wrapped), k.cmkProvider, k.cmkKeyRef, k.cmkKeyVersion ?? null],
    );
  },

  /** One version. */
  async get(db: Db, tenantId: string, version: number): Promise<TenantKeyRow | undefined> {
    const { rows } = await db.query<Row>('SELECT * FROM tenant_keys WHERE tenant_id = $1 AND version = $2', [
      tenantId,
      version,
    ]);
    return rows[0] ? toRow(rows[0]) : undefined;
  },

  /** The newest active version: the one new writes use. */
  async current(db: Db, tenantId: string): Promise<TenantKeyRow | undefined> {
    const { rows } = await db.query<Row>(
      `SELECT * FROM tenant_keys WHERE tenant_id = $1 AND state = 'active' ORDER BY version DESC LIMIT 1`,
      [tenantId],
    );
    return rows[0] ? toRow(rows[0]) : undefined;
  },

  /** Every version, oldest first. */
  async list(db: Db, tenantId: string): Promise<TenantKeyRow[]> {
    const { rows } = await db.query<Row>('SELECT * FROM tenant_keys WHERE tenant_id = $1 ORDER BY version', [
      tenantId,
    ]);
    return rows.map(toRow);
  },

  /**
   * Locks every key row of the tenant until the transaction ends, so a concurrent rotate or retire
   * of the same tenant serialises behind the caller. Call inside a transaction.
   */
  async lockAll(tx: Db, tenantId: string): Promise<void> {
    await tx.query('SELECT version FROM tenant_keys WHERE tenant_id = $1 FOR UPDATE', [tenantId]);
  },

  /** Replaces the wrapped form of a version after a CMK change (same TK, new CMK). */
  async rewrap(db: Db, k: WrappedTenantKey): Promise<void> {
    await db.query(
      `UPDATE tenant_keys SET wrapped = $3, cmk_provider = $4, cmk_key_ref = $5, cmk_key_version = $6
       WHERE tenant_id = $1 AND version = $2 AND state <> 'destroyed'`,
      [k.tenantId, k.version, Buffer.from(k.wrapped), k.cmkProvider, k.cmkKeyRef, k.cmkKeyVersion ?? null],
    );
  },

  /** Crypto-shredding: forgets every wrapped key of the tenant, purpose-bound copies included. */
  async destroyAll(db: Db, tenantId: string): Promise<number> {
    await db.query('DELETE FROM tenant_key_purpose_wraps WHERE tenant_id = $1', [tenantId]);
    const { rowCount } = await db.query(
      `UPDATE tenant_keys SET wrapped = NULL, state = 'destroyed' WHERE tenant_id = $1`,
      [tenantId],
    );
    return rowCount ?? 0;
  },

  /** The copy of a version wrapped for one access purpose (strict mode). */
  async getPurposeWrap(
    db: Db,
    tenantId: string,
    version: number,
    purpose: string,
  ): Promise<{ wrapped: Buffer; cmkKeyRef: string } | undefined> {
    const { rows } = await db.query<{ wrapped: Buffer; cmk_key_ref: string }>(
      'SELECT wrapped, cmk_key_ref FROM tenant_key_purpose_wraps WHERE tenant_id = $1 AND version = $2 AND access_purpose = $3',
      [tenantId, version, purpose],
    );
    return rows[0] ? { wrapped: rows[0].wrapped, cmkKeyRef: rows[0].cmk_key_ref } : undefined;
  },

  /** Replaces every purpose-bound copy of the tenant's keys (call inside a transaction). */
  async replacePurposeWraps(
    db: Db,
    tenantId: string,
    wraps: { version: number; purpose: string; wrapped: Uint8Array; cmkKeyRef: string }[],
  ): Promise<void> {
    await db.query('DELETE FROM tenant_key_purpose_wraps WHERE tenant_id = $1', [tenantId]);
    for (const w of wraps) {
      await db.query(
        'INSERT INTO tenant_key_purpose_wraps (tenant_id, version, access_purpose, wrapped, cmk_key_ref) VALUES ($1, $2, $3, $4, $5)',
        [tenantId, w.version, w.purpose, Buffer.from(w.wrapped), w.cmkKeyRef],
      );
    }
  },

  /** Adds purpose-bound copies for one (new) version. */
  async addPurposeWraps(
    db: Db,
    tenantId: string,
    wraps: { version: number; purpose: string; wrapped: Uint8Array; cmkKeyRef: string }[],
  ): Promise<void> {
    for (const w of wraps) {
      await db.query(
        'INSERT INTO tenant_key_purpose_wraps (tenant_id, version, access_purpose, wrapped, cmk_key_ref) VALUES ($1, $2, $3, $4, $5)',
        [tenantId, w.version, w.purpose, Buffer.from(w.wrapped), w.cmkKeyRef],
      );
    }
  },
};
