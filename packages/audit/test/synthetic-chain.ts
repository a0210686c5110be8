import type { Pool } from '@byok/store';
import {
  EVENT_COLUMN_SPECS,
  GENESIS_HASH,
  INSERT_EVENT_ROWS,
  canonicalEvent,
  computeHash,
  eventRowValues,
  type AuditEvent,
} from '../src/index.js';

/**
 * Appends `count` valid events to a NEW chain fast (tests and benchmarks only): hashes computed
 * with the writer's pure functions, rows inserted in multi-row batches, head set at the end.
 */
export async function seedSyntheticChain(
  pool: Pool,
  chain: string,
  count: number,
  batch = 5000,
): Promise<void> {
  let prev: Uint8Array = GENESIS_HASH;
  const start = Date.UTC(2026, 0, 1);
  for (let from = 1; from <= count; from += batch) {
    const cols: unknown[][] = Array.from({ length: EVENT_COLUMN_SPECS.length }, () => []);
    for (let seq = from; seq < Math.min(from + batch, count + 1); seq++) {
      const e: AuditEvent = {
        chain,
        seq,
        tenantId: chain,
        at: new Date(start + seq),
        actorTokenId: 'tok_synthetic',
        actorRole: 'service',
        action: 'decrypt',
        resource: `tenants/${chain}/ciphertexts`,
        outcome: 'success',
        errorCode: null,
        purpose: 'billing',
        kmsProvider: null,
        kmsKeyRef: null,
        kmsRequestId: null,
        requestId: `req-${seq}`,
        clientRequestId: null,
        clientAddress: null,
        details: { itemCount: seq % 7 },
      };
      const hash = computeHash(prev, canonicalEvent(e));
      const row = eventRowValues(e, prev, hash);
      row.forEach((v, i) => (cols[i] as unknown[]).push(v));
      prev = hash;
    }
    await pool.query(INSERT_EVENT_ROWS, cols);
  }
  await pool.query('INSERT INTO audit_chain_heads (chain, seq, hash) VALUES ($1, $2, $3)', [
    chain,
    count,
    Buffer.from(prev),
  ]);
}

/** Splits a stream of text chunks into lines (without the newline). */
export async function* linesOf(chunks: AsyncIterable<string>): AsyncGenerator<string> {
  let rest = '';
  for await (const chunk of chunks) {
    const parts = (rest + chunk).split('\n');
    rest = parts.pop() as string;
    yield* parts;
  }
  if (rest) yield rest;
}
