import { randomUUID } from 'node:crypto';
import { canonicalEvent, computeHash, GENESIS_HASH, type AuditEvent } from '@byok/audit';
import type { Queryable } from '@byok/store';

/** Rows per INSERT statement: arrays bound once, expanded by unnest() on the server. */
const BATCH = 5000;

/** A plausible decrypt event of tenant `tenantId`, as the service writes them. */
function decryptEvent(chain: string, tenantId: string, seq: number, at: Date): AuditEvent {
  return {
    chain,
    seq,
    tenantId,
    at,
    actorTokenId: 'tok_bench_service_0001',
    actorRole: 'service',
    action: 'crypto.decrypt',
    resource: `tenant/${tenantId}`,
    outcome: 'success',
    errorCode: null,
    purpose: 'llm-inference',
    kmsProvider: null,
    kmsKeyRef: null,
    kmsRequestId: null,
    requestId: randomUUID(),
    clientRequestId: null,
    clientAddress: null,
    details: { keyVersion: 1, itemCount: 1 },
  };
}

/**
 * Writes a valid hash chain of `count` events (hashes from the pure `canonicalEvent` /
 * `computeHash` that the verifier uses) plus its chain head, with bulk INSERTs. Returns seconds spent.
 */
export async function writeChain(
  q: Queryable,
  chain: string,
  tenantId: string,
  count: number,
): Promise<number> {
  const started = performance.now();
  let prev: Uint8Array = GENESIS_HASH;
  const base = Date.UTC(2026, 0, 1);
  const inFlight: Promise<unknown>[] = [];
  for (let from = 1; from <= count; from += BATCH) {
    const cols: unknown[][] = Array.from({ length: 7 }, () => []);
    for (let seq = from; seq < Math.min(from + BATCH, count + 1); seq++) {
      const e = decryptEvent(chain, tenantId, seq, new Date(base + seq));
      const hash = computeHash(prev, canonicalEvent(e));
      const row = [
        seq,
        e.at.toISOString(),
        e.actorTokenId,
        e.requestId,
        JSON.stringify(e.details),
        Buffer.from(prev),
        hash,
      ];
      row.forEach((v, i) => (cols[i] as unknown[]).push(v));
      prev = hash;
    }
    // Hash the next batch while this one is inserted (rows may land in any order: seq is the key).
    inFlight.push(
      q.query(
        `INSERT INTO audit_events (chain, seq, tenant_id, at, actor_token_id, actor_role, action, resource, outcome,
         purpose, request_id, details, prev_hash, hash)
       SELECT $1, s, $2, a, tok, 'service', 'crypto.decrypt', 'tenant/' || $2, 'success', 'llm-inference', rid, d, p, h
       FROM unnest($3::bigint[], $4::timestamptz[], $5::text[], $6::text[], $7::jsonb[], $8::bytea[], $9::bytea[])
         AS t(s, a, tok, rid, d, p, h)`,
        [chain, tenantId, ...cols],
      ),
    );
    if (inFlight.length >= 2) await inFlight.shift();
  }
  await Promise.all(inFlight);
  await q.query('INSERT INTO audit_chain_heads (chain, seq, hash) VALUES ($1, $2, $3)', [
    chain,
    count,
    Buffer.from(prev),
  ]);
  return (performance.now() - started) / 1000;
}
