import type { AuditDetailValue, AuditOutcome, ChainedAuditEvent } from './audit-event.js';

/** Column list matching {@link rowToEvent}. */
export const EVENT_COLUMNS =
  'chain, seq, tenant_id, at, actor_token_id, actor_role, action, resource, outcome, error_code, purpose, ' +
  'kms_provider, kms_key_ref, kms_request_id, request_id, details, prev_hash, hash';

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
    details: r.details,
    prevHash: r.prev_hash,
    hash: r.hash,
  };
}
