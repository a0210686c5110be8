import type { Queryable } from '@byok/store';
import { verifyChain, type ChainVerification } from './verify-chain.js';

/**
 * Verifies a chain from its last verified point (the whole chain the first time, or with `full`),
 * and records the new point when the chain is intact. Incremental mode trusts what was verified
 * before: it checks that the anchor row still has the hash recorded then, not the rows before it.
 */
export async function verifyChainFromMark(
  q: Queryable,
  chain: string,
  full: boolean,
): Promise<ChainVerification> {
  let fromSeq = 1;
  if (!full) {
    const mark = (
      await q.query<{ seq: string; hash: Buffer }>(
        'SELECT seq, hash FROM audit_verified_marks WHERE chain = $1',
        [chain],
      )
    ).rows[0];
    if (mark) {
      const seq = Number(mark.seq);
      const row = (
        await q.query<{ hash: Buffer }>('SELECT hash FROM audit_events WHERE chain = $1 AND seq = $2', [
          chain,
          seq,
        ])
      ).rows[0];
      if (!row)
        return {
          ok: false,
          chain,
          checked: 0,
          headSeq: seq,
          firstBrokenSeq: seq,
          reason: 'deleted',
        };
      if (!row.hash.equals(mark.hash))
        return {
          ok: false,
          chain,
          checked: 0,
          headSeq: seq,
          firstBrokenSeq: seq,
          reason: 'edited',
        };
      fromSeq = seq + 1;
    }
  }
  const result = await verifyChain(q, chain, { fromSeq });
  if (result.ok && result.headSeq >= 1) {
    await q.query(
      `INSERT INTO audit_verified_marks (chain, seq, hash)
       SELECT chain, seq, hash FROM audit_events WHERE chain = $1 AND seq = $2
       ON CONFLICT (chain) DO UPDATE SET seq = excluded.seq, hash = excluded.hash, verified_at = now()
       WHERE audit_verified_marks.seq <= excluded.seq`,
      [chain, result.headSeq],
    );
  }
  return result;
}
