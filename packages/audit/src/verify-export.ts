import type { KeyObject } from 'node:crypto';
import { AuditQueryError } from './audit-errors.js';
import type { ChainedAuditEvent } from './audit-event.js';
import type { SignedCheckpoint } from './checkpoint.js';
import { keyringOf, keyringProblem, type Keyring } from './checkpoint-keyring.js';
import { parseExportLine } from './export-format.js';
import { verifyEvents, type ChainBreak } from './hash-chain.js';

/** Why an export failed verification: a chain break, or a checkpoint problem. */
export type ExportBreak =
  | ChainBreak
  // the events do not match a signed checkpoint (e.g. the table was rewritten and rehashed)
  | 'checkpoint-mismatch'
  | 'bad-checkpoint-signature'
  | 'unknown-checkpoint-key'
  // signed by a trusted key, but at a time outside that key's validity period
  | 'checkpoint-key-not-valid'
  | 'malformed';

/** Outcome of {@link verifyExport}. */
export interface ExportVerification {
  ok: boolean;
  chain: string | null;
  /** Events whose hash chain verified. */
  checked: number;
  lastSeq: number;
  /** Checkpoints whose signature and head hash matched. */
  checkpointsVerified: number;
  /** Highest verified checkpoint seq (0 if none): truncation and rehashing are only detectable up to it. */
  checkpointSeq: number;
  firstBrokenSeq?: number;
  reason?: ExportBreak;
  /** Human-readable explanation. */
  detail?: string;
}

/** Options for {@link verifyExport}. */
export interface VerifyExportOptions {
  /** Ed25519 public key checkpoints must be signed with (shorthand for a keyring of one). */
  publicKey?: KeyObject;
  /** Keys checkpoints may be signed with, each in its validity period. Without a key or keyring signatures are not checked. */
  keyring?: Keyring;
  /** Checkpoints held outside the database (e.g. saved from earlier exports), checked like in-line ones. */
  trustedCheckpoints?: SignedCheckpoint[];
}

const EXPLAIN: Record<ExportBreak, string> = {
  edited: "an event's content no longer matches its hash (edited)",
  deleted: 'a sequence number is missing (deleted)',
  reordered: 'events are out of order (reordered or swapped)',
  'broken-link': "an event does not link to the previous event's hash (edited and rehashed)",
  truncated: 'a signed checkpoint names events the export does not contain (truncated)',
  'head-mismatch': 'the chain head differs from the last event',
  'checkpoint-mismatch':
    'the events do not match a signed checkpoint (rewritten and rehashed); the change lies after the last matching checkpoint',
  'bad-checkpoint-signature': 'a checkpoint signature is invalid (forged or altered checkpoint)',
  'unknown-checkpoint-key': 'a checkpoint was signed by a key that is not in the trusted keyring',
  'checkpoint-key-not-valid': "a checkpoint was signed outside its key's validity period (a retired key)",
  malformed: 'the export is malformed',
};

/**
 * Verifies an NDJSON export offline, in one pass and constant memory (beyond one hash per
 * checkpoint): recomputes the hash chain from genesis with the same pure functions the writer
 * uses, and checks every checkpoint (in-line and `trustedCheckpoints`) for a valid signature and
 * for the hash of the event at its seq. Reports the first broken sequence and why.
 */
export async function verifyExport(
  lines: AsyncIterable<string> | Iterable<string>,
  opts: VerifyExportOptions = {},
): Promise<ExportVerification> {
  let chain: string | null = null;
  // seq -> checkpoints claiming it; seq -> hash of the event seen there (only for checkpoint seqs).
  const expected = new Map<number, SignedCheckpoint[]>();
  const seenHash = new Map<number, string>();
  const addCheckpoint = (cp: SignedCheckpoint) => {
    const list = expected.get(cp.seq) ?? [];
    list.push(cp);
    expected.set(cp.seq, list);
  };
  for (const cp of opts.trustedCheckpoints ?? []) addCheckpoint(cp);
  let lastEvent: ChainedAuditEvent | undefined;
  let malformed: { seq: number; detail: string } | undefined;

  async function* events(): AsyncGenerator<ChainedAuditEvent> {
    let lineNo = 0;
    for await (const raw of lines) {
      lineNo += 1;
      const text = raw.trim();
      if (text === '') continue;
      let parsed;
      try {
        parsed = parseExportLine(text, lineNo);
      } catch (err) {
        malformed = { seq: (lastEvent?.seq ?? 0) + 1, detail: (err as Error).message };
        return;
      }
      if (parsed.type === 'header') {
        chain ??= parsed.chain;
        continue;
      }
      const item = parsed.type === 'event' ? parsed.event : parsed.checkpoint;
      chain ??= item.chain;
      if (item.chain !== chain) {
        malformed = { seq: item.seq, detail: `line ${lineNo}: chain ${item.chain} in an export of ${chain}` };
        return;
      }
      if (parsed.type === 'checkpoint') {
        const cp = parsed.checkpoint;
        // The event at cp.seq was just yielded, or earlier (a repeated latest checkpoint).
        if (lastEvent && cp.seq === lastEvent.seq)
          seenHash.set(cp.seq, Buffer.from(lastEvent.hash).toString('hex'));
        addCheckpoint(cp);
        continue;
      }
      const e = parsed.event;
      if (expected.has(e.seq)) seenHash.set(e.seq, Buffer.from(e.hash).toString('hex'));
      lastEvent = e;
      yield e;
    }
  }

  const chainResult = await verifyEvents(events());
  const base = { chain, checked: chainResult.checked, lastSeq: chainResult.lastSeq };
  const fail = (
    reason: ExportBreak,
    seq: number,
    detail?: string,
    extra: Partial<ExportVerification> = {},
  ) => ({
    ...base,
    checkpointsVerified: 0,
    checkpointSeq: 0,
    ...extra,
    ok: false,
    firstBrokenSeq: seq,
    reason,
    detail: detail ?? EXPLAIN[reason],
  });
  if (malformed) return fail('malformed', malformed.seq, malformed.detail);
  if (!chainResult.ok) {
    return fail(chainResult.reason as ChainBreak, chainResult.firstBrokenSeq as number);
  }

  const keyring = opts.keyring ?? (opts.publicKey ? keyringOf([opts.publicKey]) : undefined);
  let lastGood = 0;
  let verified = 0;
  for (const seq of [...expected.keys()].sort((a, b) => a - b)) {
    for (const cp of expected.get(seq) as SignedCheckpoint[]) {
      const done = { checkpointsVerified: verified, checkpointSeq: lastGood };
      if (keyring) {
        const problem = keyringProblem(cp, keyring);
        if (problem === 'unknown-key') return fail('unknown-checkpoint-key', seq, undefined, done);
        if (problem === 'key-not-valid') return fail('checkpoint-key-not-valid', seq, undefined, done);
        if (problem) return fail('bad-checkpoint-signature', seq, undefined, done);
      }
      if (seq > chainResult.lastSeq) {
        return fail(
          'truncated',
          chainResult.lastSeq + 1,
          `signed checkpoint at seq ${seq} but the export ends at seq ${chainResult.lastSeq} (truncated)`,
          done,
        );
      }
      if (seenHash.get(seq) !== cp.headHash) {
        return fail(
          'checkpoint-mismatch',
          lastGood + 1,
          `events ${lastGood + 1}..${seq} do not match the signed checkpoint at seq ${seq} (rewritten and rehashed)`,
          done,
        );
      }
      verified += 1;
    }
    lastGood = seq;
  }
  if (chain === null && verified === 0 && chainResult.checked === 0) {
    throw new AuditQueryError('the export holds no events and no checkpoints');
  }
  return { ...base, ok: true, checkpointsVerified: verified, checkpointSeq: lastGood };
}
