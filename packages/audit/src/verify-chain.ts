import type { Queryable } from '@byok/store';
import type { ChainedAuditEvent } from './audit-event.js';
import { EVENT_COLUMNS, rowToEvent, type EventRow } from './event-rows.js';
import { GENESIS_HASH, verifyEvents, type ChainBreak } from './hash-chain.js';

/** Options for {@link verifyChain}. */
export interface VerifyChainOptions {
  /** Start here instead of at 1; the stored hash of `fromSeq - 1` is the trusted anchor. */
  fromSeq?: number;
  /** Rows fetched per query (default 1000); memory stays bounded by it. */
  batchSize?: number;
}

/** Outcome of {@link verifyChain}. */
export interface ChainVerification {
  ok: boolean;
  chain: string;
  /** Events verified as good. */
  checked: number;
  /** The sequence number the chain head records (0 for an empty or unknown chain). */
  headSeq: number;
  firstBrokenSeq?: number;
  reason?: ChainBreak;
}

async function* pages(q: Queryable, chain: string, fromSeq: number, toSeq: number, size: number) {
  let after = fromSeq - 1;
  for (;;) {
    const { rows } = await q.query<EventRow>(
      `SELECT ${EVENT_COLUMNS} FROM audit_events WHERE chain = $1 AND seq > $2 AND seq <= $3 ORDER BY seq LIMIT $4`,
      [chain, after, toSeq, size],
    );
    for (const r of rows) yield rowToEvent(r) as ChainedAuditEvent;
    if (rows.length < size) return;
    after = Number((rows[rows.length - 1] as EventRow).seq);
  }
}

/**
 * Verifies one chain against the database: streams events in keyset-paginated batches through
 * {@link verifyEvents}, then checks the result against `audit_chain_heads` so a removed tail is
 * reported as `truncated`. The head is read first; events appended meanwhile are not examined.
 */
export async function verifyChain(
  q: Queryable,
  chain: string,
  opts: VerifyChainOptions = {},
): Promise<ChainVerification> {
  const fromSeq = opts.fromSeq ?? 1;
  const batchSize = opts.batchSize ?? 1000;
  // max(seq) first: a head row commits with its chain's first events, so it cannot lag this read.
  const maxInTable = Number(
    (await q.query<{ m: string | null }>('SELECT max(seq) AS m FROM audit_events WHERE chain = $1', [chain]))
      .rows[0]?.m ?? 0,
  );
  const head = (
    await q.query<{ seq: string; hash: Buffer }>('SELECT seq, hash FROM audit_chain_heads WHERE chain = $1', [
      chain,
    ])
  ).rows[0];
  const headSeq = head ? Number(head.seq) : 0;
  const base = { chain, headSeq };
  if (!head && maxInTable > 0)
    return { ...base, ok: false, checked: 0, firstBrokenSeq: 1, reason: 'head-mismatch' };

  let anchor: Uint8Array = GENESIS_HASH;
  if (fromSeq > 1) {
    const row = (
      await q.query<{ hash: Buffer }>('SELECT hash FROM audit_events WHERE chain = $1 AND seq = $2', [
        chain,
        fromSeq - 1,
      ])
    ).rows[0];
    if (!row) return { ...base, ok: false, checked: 0, firstBrokenSeq: fromSeq - 1, reason: 'deleted' };
    anchor = row.hash;
  }

  const result = await verifyEvents(pages(q, chain, fromSeq, headSeq, batchSize), {
    fromSeq,
    prevHash: anchor,
  });
  if (!result.ok) {
    return {
      ...base,
      ok: false,
      checked: result.checked,
      firstBrokenSeq: result.firstBrokenSeq,
      reason: result.reason,
    };
  }
  if (result.lastSeq < headSeq) {
    return {
      ...base,
      ok: false,
      checked: result.checked,
      firstBrokenSeq: result.lastSeq + 1,
      reason: 'truncated',
    };
  }
  if (head && headSeq > 0 && Buffer.compare(Buffer.from(result.lastHash), head.hash) !== 0) {
    return { ...base, ok: false, checked: result.checked, firstBrokenSeq: headSeq, reason: 'head-mismatch' };
  }
  return { ...base, ok: true, checked: result.checked };
}
