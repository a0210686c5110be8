import type { AuditDetailValue, AuditEvent, AuditOutcome, ChainedAuditEvent } from './audit-event.js';

/**
 * The columns of audit_events in the one order every statement, row array and CSV export uses:
 * column name, event field, and PostgreSQL type (for the array parameters of bulk inserts).
 * `at` precedes `tenant_id` because the CSV export (a published format) has always had it there.
 */
export const EVENT_COLUMN_SPECS = [
  { column: 'chain', field: 'chain', type: 'text' },
  { column: 'seq', field: 'seq', type: 'bigint' },
  { column: 'at', field: 'at', type: 'timestamptz' },
  { column: 'tenant_id', field: 'tenantId', type: 'text' },
  { column: 'actor_token_id', field: 'actorTokenId', type: 'text' },
  { column: 'actor_role', field: 'actorRole', type: 'text' },
  { column: 'action', field: 'action', type: 'text' },
  { column: 'resource', field: 'resource', type: 'text' },
  { column: 'outcome', field: 'outcome', type: 'text' },
  { column: 'error_code', field: 'errorCode', type: 'text' },
  { column: 'purpose', field: 'purpose', type: 'text' },
  { column: 'kms_provider', field: 'kmsProvider', type: 'text' },
  { column: 'kms_key_ref', field: 'kmsKeyRef', type: 'text' },
  { column: 'kms_request_id', field: 'kmsRequestId', type: 'text' },
  { column: 'request_id', field: 'requestId', type: 'text' },
  { column: 'client_request_id', field: 'clientRequestId', type: 'text' },
  { column: 'client_address', field: 'clientAddress', type: 'text' },
  { column: 'details', field: 'details', type: 'jsonb' },
  { column: 'prev_hash', field: 'prevHash', type: 'bytea' },
  { column: 'hash', field: 'hash', type: 'bytea' },
] as const satisfies readonly { column: string; field: keyof ChainedAuditEvent; type: string }[];

/** The column names, in {@link EVENT_COLUMN_SPECS} order. */
export const EVENT_COLUMN_NAMES: readonly string[] = EVENT_COLUMN_SPECS.map((c) => c.column);

/** Column list matching {@link rowToEvent} and {@link eventRowValues}. */
export const EVENT_COLUMNS = EVENT_COLUMN_NAMES.join(', ');

/**
 * Bulk insert of events: one array parameter per column ($1..$N, in {@link EVENT_COLUMN_SPECS}
 * order, values from {@link eventRowValues}), unnested into rows.
 */
export const INSERT_EVENT_ROWS =
  `INSERT INTO audit_events (${EVENT_COLUMNS})\n  SELECT * FROM unnest(` +
  EVENT_COLUMN_SPECS.map((c, i) => `$${i + 1}::${c.type}[]`).join(', ') +
  ')';

/**
 * One event as the values of an `audit_events` row, in {@link EVENT_COLUMN_SPECS} order: `at` as
 * ISO text, `details` as JSON text, hashes as Buffers. Used by the writer, and by tests and
 * benchmarks that seed chains.
 */
export function eventRowValues(event: AuditEvent, prevHash: Uint8Array, hash: Uint8Array): unknown[] {
  const row: ChainedAuditEvent = { ...event, prevHash, hash };
  return EVENT_COLUMN_SPECS.map(({ field }) => {
    const v = row[field];
    if (v instanceof Date) return v.toISOString();
    if (v instanceof Uint8Array) return Buffer.from(v);
    if (typeof v === 'object' && v !== null) return JSON.stringify(v);
    return v;
  });
}

/** A row of audit_events as `pg` returns it. */
export interface EventRow {
  chain: string;
  seq: string;
  tenant_id: string | null;
  at: Date;
  actor_token_id: string | null;
  actor_role: string | null;
  action: string;
  resource: string | null;
  outcome: AuditOutcome;
  error_code: string | null;
  purpose: string | null;
  kms_provider: string | null;
  kms_key_ref: string | null;
  kms_request_id: string | null;
  request_id: string | null;
  client_request_id: string | null;
  client_address: string | null;
  details: Record<string, AuditDetailValue> | null;
  prev_hash: Buffer;
  hash: Buffer;
}

/** Maps a row to an event; `seq` (bigint) becomes a number, safe below 2^53. */
export function rowToEvent(r: EventRow): ChainedAuditEvent {
  return {
    chain: r.chain,
    seq: Number(r.seq),
    tenantId: r.tenant_id,
    at: r.at,
    actorTokenId: r.actor_token_id,
    actorRole: r.actor_role,
    action: r.action,
    resource: r.resource,
    outcome: r.outcome,
    errorCode: r.error_code,
    purpose: r.purpose,
    kmsProvider: r.kms_provider,
    kmsKeyRef: r.kms_key_ref,
    kmsRequestId: r.kms_request_id,
    requestId: r.request_id,
    clientRequestId: r.client_request_id,
    clientAddress: r.client_address,
    details: r.details,
    prevHash: r.prev_hash,
    hash: r.hash,
  };
}
