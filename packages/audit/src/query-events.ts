import type { Queryable } from '@byok/store';
import { AuditQueryError } from './audit-errors.js';
import type { AuditEvent, AuditOutcome } from './audit-event.js';
import { EVENT_COLUMNS, rowToEvent, type EventRow } from './event-rows.js';

/** Filters for {@link queryEvents}; all optional and combined with AND. */
export interface AuditQueryFilters {
  /** One chain (a tenant id or `_platform`). */
  chain?: string;
  /** Shorthand for `chain: tenantId`. */
  tenantId?: string;
  action?: string;
  outcome?: AuditOutcome;
  actorTokenId?: string;
  purpose?: string;
  /** Exact resource, e.g. `tenants/acme/secrets/openai-prod`. */
  resource?: string;
  /** Inclusive lower bound on `at`. */
  since?: Date;
  /** Exclusive upper bound on `at`. */
  until?: Date;
}

/** A page of events (hashes as lowercase hex) and the cursor of the next page, if any. */
export interface AuditPage {
  events: (AuditEvent & { prevHash: string; hash: string })[];
  nextCursor: string | null;
}

/** Largest page {@link queryEvents} returns. */
export const MAX_PAGE_SIZE = 500;

type Cursor = { k: 'chain'; s: number } | { k: 'time'; a: string; c: string; s: number };

function encodeCursor(c: Cursor): string {
  return Buffer.from(JSON.stringify(c)).toString('base64url');
}

function decodeCursor(raw: string, kind: Cursor['k']): Cursor {
  let c: unknown;
  try {
    c = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8'));
  } catch {
    throw new AuditQueryError('invalid cursor');
  }
  const o = c as Partial<{ k: string; s: unknown; a: unknown; c: unknown }>;
  const okSeq = typeof o?.s === 'number' && Number.isSafeInteger(o.s) && o.s >= 0;
  if (kind === 'chain' && o?.k === 'chain' && okSeq) return { k: 'chain', s: o.s as number };
  if (
    kind === 'time' &&
    o?.k === 'time' &&
    okSeq &&
    typeof o.c === 'string' &&
    typeof o.a === 'string' &&
    !Number.isNaN(Date.parse(o.a))
  ) {
    return { k: 'time', a: o.a, c: o.c, s: o.s as number };
  }
  throw new AuditQueryError('invalid cursor for this query');
}

/**
 * Lists events oldest first with keyset pagination: within one chain by `seq`, across chains by
 * `(at, chain, seq)`. Pass `nextCursor` back with the SAME filters for the next page.
 */
export async function queryEvents(
  q: Queryable,
  filters: AuditQueryFilters,
  cursor?: string | null,
  limit = 100,
): Promise<AuditPage> {
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE_SIZE) {
    throw new AuditQueryError(`limit must be an integer from 1 to ${MAX_PAGE_SIZE}`);
  }
  if (filters.chain !== undefined && filters.tenantId !== undefined && filters.chain !== filters.tenantId) {
    throw new AuditQueryError('chain and tenantId disagree');
  }
  const chain = filters.chain ?? filters.tenantId;
  const where: string[] = [];
  const params: unknown[] = [];
  const add = (sql: string, value: unknown): void => {
    params.push(value);
    where.push(sql.replace('?', `$${params.length}`));
  };
  if (chain !== undefined) add('chain = ?', chain);
  if (filters.action !== undefined) add('action = ?', filters.action);
  if (filters.outcome !== undefined) add('outcome = ?', filters.outcome);
  if (filters.actorTokenId !== undefined) add('actor_token_id = ?', filters.actorTokenId);
  if (filters.purpose !== undefined) add('purpose = ?', filters.purpose);
  if (filters.resource !== undefined) add('resource = ?', filters.resource);
  if (filters.since !== undefined) add('at >= ?', filters.since);
  if (filters.until !== undefined) add('at < ?', filters.until);

  const kind: Cursor['k'] = chain !== undefined ? 'chain' : 'time';
  if (cursor) {
    const c = decodeCursor(cursor, kind);
    if (c.k === 'chain') add('seq > ?', c.s);
    else {
      params.push(c.a, c.c, c.s);
      const n = params.length;
      where.push(`(at, chain, seq) > ($${n - 2}::timestamptz, $${n - 1}, $${n})`);
    }
  }
  const order = kind === 'chain' ? 'seq' : 'at, chain, seq';
  params.push(limit + 1);
  const sql =
    `SELECT ${EVENT_COLUMNS} FROM audit_events` +
    (where.length ? ` WHERE ${where.join(' AND ')}` : '') +
    ` ORDER BY ${order} LIMIT $${params.length}`;
  const { rows } = await q.query<EventRow>(sql, params);

  const page = rows.slice(0, limit).map(rowToEvent);
  const last = page[page.length - 1];
  const nextCursor =
    rows.length > limit && last
      ? encodeCursor(
          kind === 'chain'
            ? { k: 'chain', s: last.seq }
            : { k: 'time', a: last.at.toISOString(), c: last.chain, s: last.seq },
        )
      : null;
  return {
    events: page.map((e) => ({
      ...e,
      prevHash: Buffer.from(e.prevHash).toString('hex'),
      hash: Buffer.from(e.hash).toString('hex'),
    })),
    nextCursor,
  };
}
