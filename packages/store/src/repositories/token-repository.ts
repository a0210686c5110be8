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
  /** When the token stops working (set on create, or by a rotation's overlap window). */
  expiresAt: Date | null;
  /** The platform service a service token belongs to. */
  service: string | null;
  /** The tenants a multi-tenant service token may act on (null: its tenantId, or all tenants). */
  tenantGrants: string[] | null;
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
  expires_at: Date | null;
  service: string | null;
  tenant_grants: string[] | null;
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
  expiresAt: r.expires_at,
  service: r.service,
  tenantGrants: r.tenant_grants,
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
      expiresAt?: Date | null;
      service?: string | null;
      tenantGrants?: string[] | null;
    },
  ): Promise<TokenRow> {
    const { rows } = await db.query<Row>(
      `INSERT INTO api_tokens (id, name, role, tenant_id, token_hash, created_by, expires_at, service, tenant_grants)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING *`,
      [
        t.id,
        t.name,
        t.role,
        t.tenantId,
        t.tokenHash,
        t.createdBy,
        t.expiresAt ?? null,
        t.service ?? null,
        t.tenantGrants ?? null,
      ],
    );
    return toRow(rows[0] as Row);
  },

  /** The live (neither revoked nor expired) token with this hash. */
  async findActiveByHash(db: Db, tokenHash: Buffer): Promise<TokenRow | undefined> {
    const { rows } = await db.query<Row>(
      `SELECT * FROM api_tokens WHERE token_hash = $1 AND revoked_at IS NULL
         AND (expires_at IS NULL OR expires_at > now())`,
      [tokenHash],
    );
    return rows[0] ? toRow(rows[0]) : undefined;
  },

  /** How many live platform-admin tokens exist (bootstrap check; the last one is not revocable). */
  async countPlatformAdmins(db: Db): Promise<number> {
    const { rows } = await db.query<{ n: string }>(
      `SELECT count(*) AS n FROM api_tokens WHERE role = 'platform-admin' AND revoked_at IS NULL
         AND (expires_at IS NULL OR expires_at > now())`,
    );
    return Number(rows[0]?.n ?? 0);
  },

  /** True when a token with this hash was ever stored (revoked or expired ones included). */
  async hashExists(db: Db, tokenHash: Buffer): Promise<boolean> {
    const { rows } = await db.query('SELECT 1 FROM api_tokens WHERE token_hash = $1', [tokenHash]);
    return rows.length > 0;
  },

  /** Ends a token at `at` unless it already ends sooner (rotation overlap); false when not live. */
  async expireBy(db: Db, id: string, at: Date): Promise<boolean> {
    const { rowCount } = await db.query(
      `UPDATE api_tokens SET expires_at = LEAST(COALESCE(expires_at, $2), $2)
        WHERE id = $1 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())`,
      [id, at],
    );
    return (rowCount ?? 0) > 0;
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
