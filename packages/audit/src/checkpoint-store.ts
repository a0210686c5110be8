import type { Queryable } from '@byok/store';
import { keyringProblem, type Keyring } from './checkpoint-keyring.js';
import { signCheckpoint, type CheckpointSigner, type SignedCheckpoint } from './checkpoint.js';
import { EVENT_COLUMNS, rowToEvent, type EventRow } from './event-rows.js';
import { verifyEvents, GENESIS_HASH } from './hash-chain.js';
import type { ExportBreak } from './verify-export.js';

interface CheckpointRow {
  chain: string;
  seq: string;
  head_hash: Buffer;
  at: Date;
  signature: Buffer;
  key_id: string;
}

/** Maps a stored checkpoint row to its JSON form. */
function toCheckpoint(r: CheckpointRow): SignedCheckpoint {
  return {
    chain: r.chain,
    seq: Number(r.seq),
    headHash: r.head_hash.toString('hex'),
    at: r.at.toISOString(),
    signature: r.signature.toString('base64'),
    keyId: r.key_id,
  };
}

/** Outcome of {@link createCheckpoint}. */
export type CheckpointResult =
  | { created: boolean; checkpoint: SignedCheckpoint }
  | { created: false; checkpoint: null; refused?: { firstBrokenSeq: number; reason: string } };

async function* eventsBetween(q: Queryable, chain: string, after: number, toSeq: number) {
  for (;;) {
    const { rows } = await q.query<EventRow>(
      `SELECT ${EVENT_COLUMNS} FROM audit_events WHERE chain = $1 AND seq > $2 AND seq <= $3 ORDER BY seq LIMIT 1000`,
      [chain, after, toSeq],
    );
    for (const r of rows) yield rowToEvent(r);
    if (rows.length < 1000) return;
    after = Number((rows[rows.length - 1] as EventRow).seq);
  }
}

/** The newest stored checkpoint of `chain`, or null. */
export async function latestCheckpoint(q: Queryable, chain: string): Promise<SignedCheckpoint | null> {
  const { rows } = await q.query<CheckpointRow>(
    'SELECT * FROM audit_checkpoints WHERE chain = $1 ORDER BY seq DESC LIMIT 1',
    [chain],
  );
  return rows[0] ? toCheckpoint(rows[0]) : null;
}

/** A keyset page of stored checkpoints of `chain` with seq > `afterSeq`, oldest first. */
export async function listCheckpoints(
  q: Queryable,
  chain: string,
  afterSeq = 0,
  limit = 1000,
): Promise<SignedCheckpoint[]> {
  const { rows } = await q.query<CheckpointRow>(
    'SELECT * FROM audit_checkpoints WHERE chain = $1 AND seq > $2 ORDER BY seq LIMIT $3',
    [chain, afterSeq, limit],
  );
  return rows.map(toCheckpoint);
}

/**
 * Signs the current head of `chain` and stores it in `audit_checkpoints`. Before signing, the
 * events since the previous checkpoint are verified against it, so a tampered table is never
 * signed (the result then says `refused`). Idempotent: a head already checkpointed is returned
 * as is (several instances may run this at once; the (chain, seq) key decides).
 */
export async function createCheckpoint(
  q: Queryable,
  chain: string,
  signer: CheckpointSigner,
): Promise<CheckpointResult> {
  const head = (
    await q.query<{ seq: string; hash: Buffer }>('SELECT seq, hash FROM audit_chain_heads WHERE chain = $1', [
      chain,
    ])
  ).rows[0];
  if (!head || Number(head.seq) === 0) return { created: false, checkpoint: null };
  const headSeq = Number(head.seq);
  const prev = await latestCheckpoint(q, chain);
  if (prev && prev.seq >= headSeq) return { created: false, checkpoint: prev };

  const from = prev ? prev.seq + 1 : 1;
  const anchor = prev ? Buffer.from(prev.headHash, 'hex') : GENESIS_HASH;
  const check = await verifyEvents(eventsBetween(q, chain, from - 1, headSeq), {
    fromSeq: from,
    prevHash: anchor,
  });
  const refuse = (firstBrokenSeq: number, reason: string): CheckpointResult => ({
    created: false,
    checkpoint: null,
    refused: { firstBrokenSeq, reason },
  });
  if (!check.ok) return refuse(check.firstBrokenSeq as number, check.reason as string);
  if (check.lastSeq < headSeq) return refuse(check.lastSeq + 1, 'truncated');
  if (Buffer.compare(Buffer.from(check.lastHash), head.hash) !== 0) return refuse(headSeq, 'head-mismatch');

  const cp = signCheckpoint(signer, {
    chain,
    seq: headSeq,
    headHash: head.hash.toString('hex'),
    at: new Date(),
  });
  const { rows } = await q.query<CheckpointRow>(
    `INSERT INTO audit_checkpoints (chain, seq, head_hash, at, signature, key_id)
     VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (chain, seq) DO NOTHING RETURNING *`,
    [chain, headSeq, head.hash, cp.at, Buffer.from(cp.signature, 'base64'), cp.keyId],
  );
  if (rows[0]) return { created: true, checkpoint: toCheckpoint(rows[0]) };
  return { created: false, checkpoint: (await latestCheckpoint(q, chain)) as SignedCheckpoint };
}

/** True when `chain` has events past its latest checkpoint. */
export async function chainNeedsCheckpoint(q: Queryable, chain: string): Promise<boolean> {
  const { rows } = await q.query<{ needs: boolean }>(
    `SELECT h.seq > COALESCE((SELECT max(c.seq) FROM audit_checkpoints c WHERE c.chain = h.chain), 0) AS needs
     FROM audit_chain_heads h WHERE h.chain = $1`,
    [chain],
  );
  return rows[0]?.needs === true;
}

/** Chains whose head moved past their latest checkpoint (what a periodic checkpointer signs). */
export async function chainsNeedingCheckpoint(q: Queryable, limit = 1000): Promise<string[]> {
  const { rows } = await q.query<{ chain: string }>(
    `SELECT h.chain FROM audit_chain_heads h
     WHERE h.seq > COALESCE((SELECT max(c.seq) FROM audit_checkpoints c WHERE c.chain = h.chain), 0)
     ORDER BY h.chain LIMIT $1`,
    [limit],
  );
  return rows.map((r) => r.chain);
}

/** Outcome of {@link verifyCheckpoints}. */
export interface CheckpointVerification {
  ok: boolean;
  checkpointsVerified: number;
  /** Highest checkpoint seq that matched (0 if none). */
  checkpointSeq: number;
  firstBrokenSeq?: number;
  reason?: ExportBreak;
}

/**
 * Checks every stored checkpoint of `chain`: signed by a key of `keyring` within its validity, and its
 * head hash equal to the stored event at its seq. Catches what the chain alone cannot: a removed
 * tail with a rewound head, or a table rewritten and rehashed consistently.
 */
export async function verifyCheckpoints(
  q: Queryable,
  chain: string,
  keyring: Keyring,
): Promise<CheckpointVerification> {
  const maxSeq = Number(
    (await q.query<{ m: string | null }>('SELECT max(seq) AS m FROM audit_events WHERE chain = $1', [chain]))
      .rows[0]?.m ?? 0,
  );
  let lastGood = 0;
  let verified = 0;
  for (;;) {
    const page = await listCheckpoints(q, chain, lastGood);
    if (page.length === 0) return { ok: true, checkpointsVerified: verified, checkpointSeq: lastGood };
    const { rows } = await q.query<{ seq: string; hash: Buffer }>(
      'SELECT seq, hash FROM audit_events WHERE chain = $1 AND seq = ANY($2::bigint[])',
      [chain, page.map((c) => c.seq)],
    );
    const hashes = new Map(rows.map((r) => [Number(r.seq), r.hash.toString('hex')]));
    for (const cp of page) {
      const fail = (reason: ExportBreak, seq: number): CheckpointVerification => ({
        ok: false,
        checkpointsVerified: verified,
        checkpointSeq: lastGood,
        firstBrokenSeq: seq,
        reason,
      });
      const problem = keyringProblem(cp, keyring);
      if (problem === 'unknown-key') return fail('unknown-checkpoint-key', cp.seq);
      if (problem === 'key-not-valid') return fail('checkpoint-key-not-valid', cp.seq);
      if (problem) return fail('bad-checkpoint-signature', cp.seq);
      if (cp.seq > maxSeq) return fail('truncated', maxSeq + 1);
      const h = hashes.get(cp.seq);
      if (h === undefined) return fail('deleted', cp.seq);
      if (h !== cp.headHash) return fail('checkpoint-mismatch', lastGood + 1);
      verified += 1;
      lastGood = cp.seq;
    }
  }
}
