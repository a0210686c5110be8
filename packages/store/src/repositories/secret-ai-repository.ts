import type { Db } from './db.js';

/** Health of a secret used as an AI provider key. */
export type SecretAiState = 'active' | 'invalid' | 'suspended';

/** What the AI gateway needs of a secret's current version: kind, endpoint, health (never the value's plaintext). */
export interface SecretAiRow {
  kind: string;
  version: number;
  ciphertext: Buffer;
  tkVersion: number;
  endpoint: string | null;
  aiState: SecretAiState;
  aiStateReason: string | null;
  aiStateSince: Date | null;
}

interface Row {
  kind: string;
  version: number;
  ciphertext: Buffer;
  tk_version: number;
  endpoint: string | null;
  ai_state: SecretAiState;
  ai_state_reason: string | null;
  ai_state_since: Date | null;
}

/** The current version of a secret with its AI state, in one query (the gateway's hot path). */
export async function getSecretForAi(
  db: Db,
  tenantId: string,
  name: string,
): Promise<SecretAiRow | undefined> {
  const { rows } = await db.query<Row>(
    `SELECT v.kind, v.version, v.ciphertext, v.tk_version, v.endpoint, s.ai_state, s.ai_state_reason, s.ai_state_since
       FROM secrets s JOIN secret_versions v
         ON v.tenant_id = s.tenant_id AND v.name = s.name AND v.version = s.current_version
      WHERE s.tenant_id = $1 AND s.name = $2`,
    [tenantId, name],
  );
  const r = rows[0];
  if (!r) return undefined;
  return {
    kind: r.kind,
    version: r.version,
    ciphertext: r.ciphertext,
    tkVersion: r.tk_version,
    endpoint: r.endpoint,
    aiState: r.ai_state,
    aiStateReason: r.ai_state_reason,
    aiStateSince: r.ai_state_since,
  };
}

/**
 * Sets a secret's AI state (the gateway marks a refused key `invalid`; spike auto-suspension marks
 * it `suspended`; `active` clears either). With `onlyVersion`, only while that version is still
 * current, so a key found invalid never marks the new version a tenant stored meanwhile.
 * Returns whether a row changed.
 */
export async function setSecretAiState(
  db: Db,
  tenantId: string,
  name: string,
  state: SecretAiState,
  reason: string | null,
  onlyVersion?: number,
): Promise<boolean> {
  const { rowCount } = await db.query(
    `UPDATE secrets SET ai_state = $3, ai_state_reason = $4, ai_state_since = now()
      WHERE tenant_id = $1 AND name = $2 AND ($5::int IS NULL OR current_version = $5)`,
    [tenantId, name, state, reason === null ? null : reason.slice(0, 200), onlyVersion ?? null],
  );
  return (rowCount ?? 0) > 0;
}
