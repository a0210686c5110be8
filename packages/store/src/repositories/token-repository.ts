import type { Db } from './db.js';

/** Roles a token can hold. */
export type TokenRole = 'platform-admin' | 'tenant-admin' | 'service' | 'auditor';

/** A token's metadata; the token itself is never stored, only its hash. */
export interface TokenRow {
  id: string;
  name: string;
  role: TokenRole;
  tenantId: string | null;
  tokenHash: Buffer;
  createdBy: string | null;
  createdAt: Date;
  revokedAt: Date | null;
}

interface Row {
  id: string;
  name: string;
  role: TokenRole;
  tenant_id: string | null;
  token_hash: Buffer;
  created_by: string | null;
  created_at: Date;
  revoked_at: Date | null;
}

const toRow = (r: Row): TokenRow => ({
  id: r.id,
  name: r.name,
  role: r.role,
  tenantId: r.tenant_id,
  tokenHash: r.token_hash,
  createdBy: r.created_by,
  createdAt: r.created_at,
  revokedAt: r.revoked_at,
});

/** API tokens. */
export const tokenRepository = {
  /** Stores a token's hash and metadata. */
  async insert(
    db: Db,
    t: {
      id: string;
      name: string;
      role: TokenRole;
      tenantId: string | null;
      tokenHash: Buffer;
      createdBy: string | null;
    },
  ): Promise<TokenRow> {
    const { rows } = await db.query<Row>(
      `INSERT INTO api_tokens (id, name, role, tenant_id, token_hash, created_by) VALUES ($1, $2, $3, $4, $5, $6) RETURNING *`,
      [t.id, t.name, t.role, t.tenantId, t.tokenHash, t.createdBy],
    );
    return toRow(rows[0] as Row);
  },

  /** The live (not revoked) token with this hash. */
  async findActiveByHash(db: Db, tokenHash: Buffer): Promise<TokenRow | undefined> {
    const { rows } = await db.query<Row>(
      'SELECT * FROM api_tokens WHERE token_hash = $1 AND revoked_at IS NULL',
      [tokenHash],
    );
    return rows[0] ? toRow(rows[0]) : undefined;
  },

  /** True when any live platform-admin token exists (bootstrap check). */
  async hasPlatformAdmin(db: Db): Promise<boolean> {
    const { rows } = await db.query(
      `SELECT 1 FROM api_tokens WHERE role = 'platform-admin' AND revoked_at IS NULL LIMIT 1`,
    );
    return rows.length > 0;
  },

  /** One token's metadata. */
  async get(db: Db, id: string): Promise<TokenRow | undefined> {
    const { rows } = await db.query<Row>('SELECT * FROM api_tokens WHERE id = $1', [id]);
    return rows[0] ? toRow(rows[0]) : undefined;
  },

  /** Tokens of a tenant (or platform-level ones with `null`). */
  async listByTenant(db: Db, tenantId: string | null): Promise<TokenRow[]> {
    const { rows } = await db.query<Row>(
      'SELECT * FROM api_tokens WHERE tenant_id IS NOT DISTINCT FROM $1 ORDER BY created_at, id',
      [tenantId],
    );
    return rows.map(toRow);
  },

  /** Revokes every live token of a tenant (offboarding). */
  async revokeAllForTenant(db: Db, tenantId: string): Promise<number> {
    const { rowCount } = await db.query(
      'UPDATE api_tokens SET revoked_at = now() WHERE tenant_id = $1 AND revoked_at IS NULL',
      [tenantId],
    );
    return rowCount ?? 0;
  },

  /** Revokes a token; returns false if it was unknown or already revoked. */
  async revoke(db: Db, id: string): Promise<boolean> {
    const { rowCount } = await db.query(
      'UPDATE api_tokens SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL',
      [id],
    );
    return (rowCount ?? 0) > 0;
  },
};
