import { withTransaction, type Pool, type PoolClient, type StoreLogger } from '@byok/store';
import { AuditUnavailableError } from './audit-errors.js';
import {
  DEFAULT_DETAIL_KEYS,
  assertValidEvent,
  chainOf,
  type AuditEvent,
  type AuditEventInput,
  type AuditRecord,
} from './audit-event.js';
import { EVENT_COLUMNS, EVENT_COLUMN_SPECS, INSERT_EVENT_ROWS, eventRowValues } from './event-rows.js';
import { GENESIS_HASH, canonicalEvent, computeHash } from './hash-chain.js';

/** Options for {@link createAuditWriter}. */
export interface AuditWriterOptions {
  pool: Pool;
  logger?: StoreLogger;
  /** Most events written in one transaction (default 256). */
  maxBatch?: number;
  /**
   * Longest a deferred event waits for a batch to ride in (default 10 ms): see
   * {@link AuditWriter.record}'s `defer`.
   */
  deferMs?: number;
  /** Keys `details` may use (default {@link DEFAULT_DETAIL_KEYS}). */
  allowedDetailKeys?: readonly string[];
  /** Called after every batch, e.g. to feed metrics. */
  onBatch?: (info: {
    events: number;
    durationMs: number;
    ok: boolean;
    /** `checked`: the one-round-trip append from this writer's own heads; `locked`: the locking transaction. */
    path?: 'checked' | 'locked';
  }) => void;
}

/** A fail-closed, group-committing audit writer. */
export interface AuditWriter {
  /**
   * Appends one event; resolves only after its transaction COMMITTED. Rejects with
   * `AuditUnavailableError` if the write failed (the caller must then fail its request), or
   * `AuditInputError` for a malformed event.
   *
   * `defer`: for an event nothing waits on (an outcome recorded after the answer has gone), it
   * does not start a transaction of its own at once: it rides in the next batch another event
   * starts, or in one of its own after `deferMs`. On a busy instance it then costs no round trip,
   * and it never makes the next gating event (a key use whose plaintext waits on its commit) wait
   * behind a commit of its own. It is still chained, committed and fail-closed like any event.
   */
  record(e: AuditEventInput, opts?: { defer?: boolean }): Promise<AuditRecord>;
  /** Appends several events atomically (same transaction): all commit or all fail. */
  recordMany(events: readonly AuditEventInput[]): Promise<AuditRecord[]>;
  /** Refuses new events, waits for queued ones to finish. Does not end the pool. */
  close(): Promise<void>;
}

interface Pending {
  events: AuditEvent[];
  /** Waits for a batch started by another event (or the defer timer). */
  deferred: boolean;
  /** performance.now() when queued. */
  queuedAt: number;
  resolve(records: AuditRecord[]): void;
  reject(err: unknown): void;
}

interface Head {
  seq: number;
  hash: Uint8Array;
}

// The head parameters follow the one array parameter per event column.
const N = EVENT_COLUMN_SPECS.length;

const INSERT_AND_ADVANCE = `
WITH ins AS (
  ${INSERT_EVENT_ROWS}
)
UPDATE audit_chain_heads h SET seq = v.seq, hash = v.hash, updated_at = now()
FROM unnest($${N + 1}::text[], $${N + 2}::bigint[], $${N + 3}::bytea[]) AS v(chain, seq, hash)
WHERE h.chain = v.chain`;

/**
 * The one-round-trip append used when this writer knows every chain head from its own last commit
 * (the common case: one instance writes a chain). One autocommit statement locks the heads, checks
 * they are still where this writer left them, and only then inserts the rows and advances the
 * heads. Under READ COMMITTED the FOR UPDATE waits for a concurrent writer and then sees its
 * committed head, so a head moved by another instance makes the check fail and nothing is written;
 * the caller then takes the locking path. $N+4 holds the expected (current) seq per head chain.
 */
const CHECKED_INSERT_AND_ADVANCE = `
WITH expected AS (
  SELECT * FROM unnest($${N + 1}::text[], $${N + 4}::bigint[]) AS e(chain, seq)
), locked AS (
  SELECT h.chain, h.seq FROM audit_chain_heads h WHERE h.chain = ANY($${N + 1}::text[]) ORDER BY h.chain FOR UPDATE
), ok AS (
  SELECT count(*) = cardinality($${N + 1}::text[]) AS ok FROM locked l JOIN expected e ON e.chain = l.chain AND e.seq = l.seq
), ins AS (
  ${INSERT_EVENT_ROWS}
  WHERE (SELECT ok FROM ok)
)
UPDATE audit_chain_heads h SET seq = v.seq, hash = v.hash, updated_at = now()
FROM unnest($${N + 1}::text[], $${N + 2}::bigint[], $${N + 3}::bytea[]) AS v(chain, seq, hash)
WHERE h.chain = v.chain AND (SELECT ok FROM ok)`;

/**
 * The one-event case of {@link CHECKED_INSERT_AND_ADVANCE} (an idle instance's gating commit):
 * scalar parameters instead of arrays, and the head advanced by an UPDATE that matches only while
 * the head is where this writer left it. Under READ COMMITTED a concurrent writer's update makes
 * it wait, then re-check against the committed head: no match, no row inserted. About half the
 * server time of the array statement. $1..$N the event's columns, $N+1 its hash (the new head),
 * $N+2 the expected head seq.
 */
const CHECKED_INSERT_ONE = `
WITH adv AS (
  UPDATE audit_chain_heads SET seq = $2, hash = $${N + 1}, updated_at = now()
   WHERE chain = $1 AND seq = $${N + 2}
  RETURNING 1
)
INSERT INTO audit_events (${EVENT_COLUMNS})
SELECT ${EVENT_COLUMN_SPECS.map((c, i) => `$${i + 1}::${c.type}`).join(', ')} FROM adv`;

/**
 * Creates the audit writer. Group commit: while one batch transaction is in flight, new events
 * queue; the next transaction takes the whole queue (up to `maxBatch`), locks the involved chain
 * heads in chain order (so writers on other instances serialise per chain without deadlocks),
 * assigns seq and hashes in JS, inserts all rows and advances the heads in one statement, and
 * commits. Every waiter of a failed batch is rejected: nothing partial is ever committed.
 */
export function createAuditWriter(opts: AuditWriterOptions): AuditWriter {
  const maxBatch = opts.maxBatch ?? 256;
  const deferMs = opts.deferMs ?? 10;
  const allowed = new Set(opts.allowedDetailKeys ?? DEFAULT_DETAIL_KEYS);
  const queue: Pending[] = [];
  // Chains whose head row is known to exist; head rows are never deleted (trigger).
  const knownChains = new Set<string>();
  // Heads as this writer's last commit left them: the optimistic one-round-trip path starts here.
  const lastHeads = new Map<string, Head>();
  let inFlight: Promise<void> | undefined;
  let deferTimer: NodeJS.Timeout | undefined;
  let closed = false;

  /** Starts a drain unless one runs; `all`: deferred events go too, whether due or not. */
  const start = (all: boolean) => {
    if (deferTimer) clearTimeout(deferTimer);
    deferTimer = undefined;
    if (inFlight === undefined && queue.length > 0) inFlight = drain(all);
  };

  const enqueue = (inputs: readonly AuditEventInput[], deferred: boolean): Promise<AuditRecord[]> => {
    for (const e of inputs) assertValidEvent(e, allowed);
    if (closed) return Promise.reject(new AuditUnavailableError('audit writer is closed'));
    const at = new Date();
    const events: AuditEvent[] = inputs.map((e) => toEvent(e, at));
    return new Promise<AuditRecord[]>((resolve, reject) => {
      queue.push({ events, deferred, queuedAt: performance.now(), resolve, reject });
      if (!deferred) start(false);
      else if (inFlight === undefined) armDeferTimer();
    });
  };

  /** Writes the deferred events once the oldest has waited `deferMs`, if nothing took them first. */
  const armDeferTimer = () => {
    const oldest = queue[0];
    if (deferTimer !== undefined || oldest === undefined) return;
    const wait = Math.max(0, oldest.queuedAt + deferMs - performance.now());
    deferTimer = setTimeout(() => start(true), wait);
  };

  /**
   * The next batch, taken off the queue in order: the events that gate an answer, and the deferred
   * events that have waited `deferMs` (or all of them, with `all`). A deferred event thus never
   * makes a gating commit larger, nor starts a transaction between two gating ones (on an idle
   * instance it would hold the connection and the CPU while the next call waits or is upstream),
   * and is never starved on a busy one.
   */
  const nextBatch = (all: boolean): { batch: Pending[]; count: number } => {
    const batch: Pending[] = [];
    let count = 0;
    const dueBefore = performance.now() - deferMs;
    for (let i = 0; i < queue.length;) {
      const next = queue[i] as Pending;
      if (batch.length > 0 && count + next.events.length > maxBatch) break;
      if (next.deferred && !all && next.queuedAt > dueBefore) {
        i += 1;
        continue;
      }
      batch.push(next);
      count += next.events.length;
      queue.splice(i, 1);
    }
    return { batch, count };
  };

  const drain = async (all: boolean): Promise<void> => {
    for (;;) {
      const { batch, count } = nextBatch(all);
      if (batch.length === 0) break;
      await writeBatch(batch, count);
    }
    inFlight = undefined;
    // Deferred events not yet due wait for their timer (or the next gating event); on close, all go.
    if (closed) start(true);
    else armDeferTimer();
  };

  const writeBatch = async (batch: Pending[], count: number): Promise<void> => {
    const started = performance.now();
    try {
      const chains = chainsOf(batch);
      let written = chains.every((c) => lastHeads.has(c))
        ? await appendChecked(opts.pool, batch, chains, lastHeads)
        : undefined;
      const path = written ? 'checked' : 'locked';
      written ??= await withTransaction(opts.pool, (client) =>
        appendBatch(client, batch, chains, knownChains),
      );
      for (const c of chains) knownChains.add(c);
      for (const [c, h] of written.heads) lastHeads.set(c, h);
      const { records } = written;
      batch.forEach((p, i) => p.resolve(records[i] as AuditRecord[]));
      opts.onBatch?.({ events: count, durationMs: performance.now() - started, ok: true, path });
    } catch (err) {
      opts.logger?.error(
        { events: count, err: err instanceof Error ? err.message : String(err) },
        'audit batch failed; failing its requests',
      );
      lastHeads.clear();
      const failure = new AuditUnavailableError('audit log unavailable', { cause: err });
      for (const p of batch) p.reject(failure);
      opts.onBatch?.({ events: count, durationMs: performance.now() - started, ok: false });
    }
  };

  return {
    record: async (e, o) => {
      const [r] = await enqueue([e], o?.defer === true);
      return r as AuditRecord;
    },
    recordMany: async (events) => (events.length === 0 ? [] : enqueue(events, false)),
    close: async () => {
      closed = true;
      // Deferred events still queued are written now, not dropped.
      start(true);
      while (inFlight) await inFlight;
    },
  };
}

function toEvent(e: AuditEventInput, at: Date): AuditEvent {
  return {
    chain: chainOf(e),
    seq: 0,
    tenantId: e.tenantId ?? null,
    at,
    actorTokenId: e.actorTokenId ?? null,
    actorRole: e.actorRole ?? null,
    action: e.action,
    resource: e.resource ?? null,
    outcome: e.outcome,
    errorCode: e.errorCode ?? null,
    purpose: e.purpose ?? null,
    kmsProvider: e.kmsProvider ?? null,
    kmsKeyRef: e.kmsKeyRef ?? null,
    kmsRequestId: e.kmsRequestId ?? null,
    requestId: e.requestId ?? null,
    clientRequestId: e.clientRequestId ?? null,
    clientAddress: e.clientAddress ?? null,
    details: e.details ? { ...e.details } : null,
  };
}

async function createHeads(client: PoolClient, chains: string[]): Promise<void> {
  // Sorted, like the lock below, so concurrent creators of new chains queue in one order.
  await client.query(
    `INSERT INTO audit_chain_heads (chain, seq, hash)
     SELECT c, 0, $2::bytea FROM unnest($1::text[]) AS c ORDER BY c ON CONFLICT (chain) DO NOTHING`,
    [chains, Buffer.from(GENESIS_HASH)],
  );
}

async function selectHeadsForUpdate(client: PoolClient, chains: string[]): Promise<Map<string, Head>> {
  // ORDER BY before FOR UPDATE: rows are locked in chain order on every instance.
  const { rows } = await client.query<{ chain: string; seq: string; hash: Buffer }>(
    'SELECT chain, seq, hash FROM audit_chain_heads WHERE chain = ANY($1::text[]) ORDER BY chain FOR UPDATE',
    [chains],
  );
  return new Map(rows.map((r) => [r.chain, { seq: Number(r.seq), hash: r.hash }]));
}

async function lockHeads(
  client: PoolClient,
  chains: string[],
  known: ReadonlySet<string>,
): Promise<Map<string, Head>> {
  const unknown = chains.filter((c) => !known.has(c));
  if (unknown.length > 0) await createHeads(client, unknown);
  let heads = await selectHeadsForUpdate(client, chains);
  if (heads.size < chains.length) {
    // Only if `known` was wrong (e.g. the database was reset under us): create and lock again.
    await createHeads(
      client,
      chains.filter((c) => !heads.has(c)),
    );
    heads = await selectHeadsForUpdate(client, chains);
  }
  return heads;
}

/** The sorted distinct chains of a batch (the lock order). */
function chainsOf(batch: Pending[]): string[] {
  return [...new Set(batch.flatMap((p) => p.events.map((e) => e.chain)))].sort();
}

interface Written {
  records: AuditRecord[][];
  /** Each chain's head after this batch. */
  heads: Map<string, Head>;
}

/**
 * Assigns seq and hashes from `start` heads (not modified) and builds the column arrays of the
 * insert statements: $1..$N the events (N = event columns), $N+1..$N+3 the new heads.
 */
function buildRows(batch: Pending[], start: ReadonlyMap<string, Head>): Written & { params: unknown[] } {
  const heads = new Map(start);
  const cols: unknown[][] = Array.from({ length: EVENT_COLUMN_SPECS.length }, () => []);
  const records = batch.map((p) =>
    p.events.map((ev) => {
      const head = heads.get(ev.chain) as Head;
      const event: AuditEvent = { ...ev, seq: head.seq + 1 };
      const hash = computeHash(head.hash, canonicalEvent(event));
      const values = eventRowValues(event, head.hash, hash);
      values.forEach((v, i) => (cols[i] as unknown[]).push(v));
      heads.set(ev.chain, { seq: event.seq, hash });
      return { chain: event.chain, seq: event.seq, hash: hash.toString('hex'), at: event.at };
    }),
  );
  const headChains = [...heads.keys()];
  const params = [
    ...cols,
    headChains,
    headChains.map((c) => (heads.get(c) as Head).seq),
    headChains.map((c) => Buffer.from((heads.get(c) as Head).hash)),
  ];
  return { records, heads, params };
}

/**
 * One round trip: append from the heads this writer last committed, if they are still current.
 * Returns undefined (nothing written) when another writer moved a head meanwhile.
 */
async function appendChecked(
  pool: Pool,
  batch: Pending[],
  chains: string[],
  last: ReadonlyMap<string, Head>,
): Promise<Written | undefined> {
  const start = new Map(chains.map((c) => [c, last.get(c) as Head]));
  if (batch.length === 1 && batch[0]?.events.length === 1) return appendOne(pool, batch, start);
  const { records, heads, params } = buildRows(batch, start);
  const headChains = params[EVENT_COLUMN_SPECS.length] as string[];
  // Named: each connection parses and plans this statement once, not once per batch.
  const { rowCount } = await pool.query({
    name: 'byok_audit_checked_append',
    text: CHECKED_INSERT_AND_ADVANCE,
    values: [...params, headChains.map((c) => (start.get(c) as Head).seq)],
  });
  return rowCount === chains.length ? { records, heads } : undefined;
}

/** {@link appendChecked} for one event: the scalar statement. */
async function appendOne(
  pool: Pool,
  batch: Pending[],
  start: ReadonlyMap<string, Head>,
): Promise<Written | undefined> {
  const { records, heads, params } = buildRows(batch, start);
  const [chain] = [...heads.keys()] as [string];
  const values = params.slice(0, N).map((column) => (column as unknown[])[0]);
  const { rowCount } = await pool.query({
    name: 'byok_audit_checked_append_one',
    text: CHECKED_INSERT_ONE,
    values: [...values, Buffer.from((heads.get(chain) as Head).hash), (start.get(chain) as Head).seq],
  });
  return rowCount === 1 ? { records, heads } : undefined;
}

async function appendBatch(
  client: PoolClient,
  batch: Pending[],
  chains: string[],
  known: ReadonlySet<string>,
): Promise<Written> {
  const locked = await lockHeads(client, chains, known);
  const { records, heads, params } = buildRows(batch, locked);
  await client.query({ name: 'byok_audit_append', text: INSERT_AND_ADVANCE, values: params });
  return { records, heads };
}
