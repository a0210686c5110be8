import type { Db } from './db.js';

/** Secret metadata (never the value). */
export interface SecretRow {
  tenantId: string;
  name: string;
  kind: string;
  labels: Record<string, string>;
  currentVersion: number;
  createdAt: Date;
  updatedAt: Date;
  hint: string;
  fingerprint: string;
  versionCreatedAt: Date;
  /** Health of the secret as an AI provider key ('active' for every other kind). */
  aiState: 'active' | 'invalid' | 'suspended';
  aiStateReason: string | null;
  aiStateSince: Date | null;
}

/** One stored value of a secret. */
export interface SecretVersionRow {
  tenantId: string;
  name: string;
  version: number;
  kind: string;
  ciphertext: Buffer;
  tkVersion: number;
  hint: string;
  fingerprint: string;
  createdAt: Date;
}

interface MetaRow {
  tenant_id: string;
  name: string;
  kind: string;
  labels: Record<string, string>;
  current_version: number;
  created_at: Date;
  updated_at: Date;
  hint: string;
  fingerprint: string;
  version_created_at: Date;
  ai_state: 'active' | 'invalid' | 'suspended';
  ai_state_reason: string | null;
  ai_state_since: Date | null;
}

interface VersionRow {
  tenant_id: string;
  name: string;
  version: number;
  kind: string;
  ciphertext: Buffer;
  tk_version: number;
  hint: string;
  fingerprint: string;
  created_at: Date;
}

const toMeta = (r: MetaRow): SecretRow => ({
  tenantId: r.tenant_id,
  name: r.name,
  kind: r.kind,
  labels: r.labels,
  currentVersion: r.current_version,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
  hint: r.hint,
  fingerprint: r.fingerprint,
  versionCreatedAt: r.version_created_at,
  aiState: r.ai_state,
  aiStateReason: r.ai_state_reason,
  aiStateSince: r.ai_state_since,
});

const toVersion = (r: VersionRow): SecretVersionRow => ({
  tenantId: r.tenant_id,
  name: r.name,
  version: r.version,
  kind: r.kind,
  ciphertext: r.ciphertext,
  tkVersion: r.tk_version,
  hint: r.hint,
  fingerprint: r.fingerprint,
  createdAt: r.created_at,
});

const META_SELECT = `SELECT s.tenant_id, s.name, s.kind, s.labels, s.current_version, s.created_at, s.updated_at,
  v.hint, v.fingerprint, v.created_at AS version_created_at, s.ai_state, s.ai_state_reason, s.ai_state_since
  FROM secrets s JOIN secret_versions v ON v.tenant_id = s.tenant_id AND v.name = s.name AND v.version = s.current_version`;

/** Secrets and their versions. Values only ever appear here as envelope ciphertexts. */
export const secretRepository = {
  /** The version number the next value of `name` gets (1 for a new secret); locks the row. */
  async nextVersion(db: Db, tenantId: string, name: string): Promise<number> {
    const { rows } = await db.query<{ current_version: number }>(
      'SELECT current_version FROM secrets WHERE tenant_id = $1 AND name = $2 FOR UPDATE',
      [tenantId, name],
    );
    return (rows[0]?.current_version ?? 0) + 1;
  },

  /** Stores a new version and makes it current. Call inside a transaction after {@link nextVersion}. */
  async putVersion(
    db: Db,
    v: {
      tenantId: string;
      name: string;
      version: number;
      kind: string;
      labels: Record<string, string>;
      ciphertext: Uint8Array;
      tkVersion: number;
      hint: string;
      fingerprint: string;
      /** Azure OpenAI resource endpoint (kind azure-openai), else null. */
      endpoint?: string | null;
    },
  ): Promise<void> {
    await db.query(
      `INSERT INTO secrets (tenant_id, name, kind, labels, current_version) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (tenant_id, name) DO UPDATE SET kind = EXCLUDED.kind, labels = EXCLUDED.labels,
         current_version = EXCLUDED.current_version, updated_at = now(),
         ai_state = 'active', ai_state_reason = NULL, ai_state_since = NULL`,
      [v.tenantId, v.name, v.kind, JSON.stringify(v.labels), v.version],
    );
    await db.query(
      `INSERT INTO secret_versions (tenant_id, name, version, kind, ciphertext, tk_version, hint, fingerprint, endpoint)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
      [
        v.tenantId,
        v.name,
        v.version,
        v.kind,
        Buffer.from(v.ciphertext),
        v.tkVersion,
        v.hint,
        v.fingerprint,
        v.endpoint ?? null,
      ],
    );
  },

  /** Metadata of one secret. */
  async get(db: Db, tenantId: string, name: string): Promise<SecretRow | undefined> {
    const { rows } = await db.query<MetaRow>(`${META_SELECT} WHERE s.tenant_id = $1 AND s.name = $2`, [
      tenantId,
      name,
    ]);
    return rows[0] ? toMeta(rows[0]) : undefined;
  },

  /** Metadata of a tenant's secrets, by name. */
  async list(db: Db, tenantId: string, opts: { after?: string; limit: number }): Promise<SecretRow[]> {
    const { rows } = await db.query<MetaRow>(
      `${META_SELECT} WHERE s.tenant_id = $1 AND s.name > $2 ORDER BY s.name LIMIT $3`,
      [tenantId, opts.after ?? '', opts.limit],
    );
    return rows.map(toMeta);
  },

  /** The current version's ciphertext, or a given version. */
  async getVersion(
    db: Db,
    tenantId: string,
    name: string,
    version?: number,
  ): Promise<SecretVersionRow | undefined> {
    const { rows } = await db.query<VersionRow>(
      version === undefined
        ? `SELECT v.* FROM secret_versions v JOIN secrets s ON s.tenant_id = v.tenant_id AND s.name = v.name
             AND v.version = s.current_version WHERE v.tenant_id = $1 AND v.name = $2`
        : 'SELECT * FROM secret_versions WHERE tenant_id = $1 AND name = $2 AND version = $3',
      version === undefined ? [tenantId, name] : [tenantId, name, version],
    );
    return rows[0] ? toVersion(rows[0]) : undefined;
  },

  /** Deletes every secret of a tenant (offboarding). */
  async deleteAllForTenant(db: Db, tenantId: string): Promise<number> {
    const { rowCount } = await db.query('DELETE FROM secrets WHERE tenant_id = $1', [tenantId]);
    return rowCount ?? 0;
  },

  /** Deletes a secret and every stored version (their ciphertexts are gone from the table). */
  async delete(db: Db, tenantId: string, name: string): Promise<boolean> {
    const { rowCount } = await db.query('DELETE FROM secrets WHERE tenant_id = $1 AND name = $2', [
      tenantId,
      name,
    ]);
    return (rowCount ?? 0) > 0;
  },
};
