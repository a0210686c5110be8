import { createHash } from 'node:crypto';
import type { AuditEvent, ChainedAuditEvent } from './audit-event.js';

/** `prev_hash` of the first event of every chain: 32 zero bytes. */
export const GENESIS_HASH: Uint8Array = new Uint8Array(32);

/**
 * JSON with object keys sorted (recursively), no whitespace. Only for the scalar/object/array
 * values audit events hold; `undefined` members are dropped as in `JSON.stringify`.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v ?? null)).join(',')}]`;
  const obj = value as Record<string, unknown>;
  const parts = Object.keys(obj)
    .filter((k) => obj[k] !== undefined)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`);
  return `{${parts.join(',')}}`;
}

/**
 * The canonical text of an event that its hash covers: canonical JSON of every field of
 * {@link AuditEvent} (absent ones as `null`), with `at` as ISO-8601 UTC with milliseconds.
 * The fields added later (`clientRequestId`, `clientAddress`, migration 0009) are members only
 * when not null: rows written before them hash exactly as they always did, and on newer rows
 * they are covered (changing, adding or removing one breaks the hash).
 * Pure: the offline verifier recomputes it from exported rows.
 */
export function canonicalEvent(e: AuditEvent): string {
  return canonicalJson({
    action: e.action,
    actorRole: e.actorRole,
    actorTokenId: e.actorTokenId,
    at: e.at.toISOString(),
    chain: e.chain,
    clientAddress: e.clientAddress ?? undefined,
    clientRequestId: e.clientRequestId ?? undefined,
    details: e.details,
    errorCode: e.errorCode,
    kmsKeyRef: e.kmsKeyRef,
    kmsProvider: e.kmsProvider,
    kmsRequestId: e.kmsRequestId,
    outcome: e.outcome,
    purpose: e.purpose,
    requestId: e.requestId,
    resource: e.resource,
    seq: e.seq,
    tenantId: e.tenantId,
  });
}

/** `SHA-256(prevHash || UTF-8(canonical))`, 32 bytes. */
export function computeHash(prevHash: Uint8Array, canonical: string): Buffer {
  return createHash('sha256').update(prevHash).update(canonical, 'utf8').digest();
}

/** Why a chain failed verification. */
export type ChainBreak =
  | 'edited' // a row's content no longer matches its own hash
  | 'deleted' // a sequence number is missing
  | 'reordered' // rows are out of place (swapped or moved)
  | 'broken-link' // a row's prev_hash does not match the previous row (e.g. a rehashed edit)
  | 'truncated' // the chain head records more events than the table holds
  | 'head-mismatch'; // the chain head's hash differs from the last event's

/** Outcome of {@link verifyEvents}. */
export interface EventsVerification {
  ok: boolean;
  checked: number;
  /** Last sequence number verified as good (fromSeq - 1 if none). */
  lastSeq: number;
  /** Hash of that event (the anchor if none). */
  lastHash: Uint8Array;
  firstBrokenSeq?: number;
  reason?: ChainBreak;
}

/** Where {@link verifyEvents} starts. */
export interface VerifyEventsOptions {
  /** Sequence number of the first event expected (default 1). */
  fromSeq?: number;
  /** Hash the first event must link to (default {@link GENESIS_HASH}). */
  prevHash?: Uint8Array;
}

function same(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(Buffer.from(a), Buffer.from(b)) === 0;
}

/**
 * Verifies events of ONE chain in sequence order, holding one event of look-ahead (constant
 * memory). Stops at the first problem and names the first bad sequence number.
 */
export async function verifyEvents(
  events: Iterable<ChainedAuditEvent> | AsyncIterable<ChainedAuditEvent>,
  opts: VerifyEventsOptions = {},
): Promise<EventsVerification> {
  let expectedSeq = opts.fromSeq ?? 1;
  let prev = opts.prevHash ?? GENESIS_HASH;
  let checked = 0;
  let pending: ChainedAuditEvent | undefined;
  const broken = (reason: ChainBreak, seq: number): EventsVerification => ({
    ok: false,
    checked,
    lastSeq: expectedSeq - 1,
    lastHash: prev,
    firstBrokenSeq: seq,
    reason,
  });

  // Checks `e` knowing the event after it (for telling a swap from an edit).
  const check = (
    e: ChainedAuditEvent,
    next: ChainedAuditEvent | undefined,
  ): EventsVerification | undefined => {
    if (e.seq > expectedSeq) return broken('deleted', expectedSeq);
    if (e.seq < expectedSeq) return broken('reordered', e.seq);
    if (!same(e.prevHash, prev)) {
      // A swapped pair: this row links to the row now stored after it.
      if (next !== undefined && same(e.prevHash, next.hash)) return broken('reordered', e.seq);
      const selfConsistent = same(computeHash(e.prevHash, canonicalEvent(e)), e.hash);
      return broken(selfConsistent ? 'broken-link' : 'edited', e.seq);
    }
    if (!same(computeHash(prev, canonicalEvent(e)), e.hash)) return broken('edited', e.seq);
    prev = e.hash;
    expectedSeq += 1;
    checked += 1;
    return undefined;
  };

  for await (const e of events) {
    if (pending !== undefined) {
      const bad = check(pending, e);
      if (bad) return bad;
    }
    pending = e;
  }
  if (pending !== undefined) {
    const bad = check(pending, undefined);
    if (bad) return bad;
  }
  return { ok: true, checked, lastSeq: expectedSeq - 1, lastHash: prev };
}
