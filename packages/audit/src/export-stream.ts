import type { Queryable } from '@byok/store';
import { listCheckpoints } from './checkpoint-store.js';
import type { ChainedAuditEvent } from './audit-event.js';
import type { SignedCheckpoint } from './checkpoint.js';
import { EVENT_COLUMNS, rowToEvent, type EventRow } from './event-rows.js';
import {
  CSV_COLUMNS,
  EXPORT_FORMAT,
  checkpointCsvRow,
  eventCsvRow,
  toExportedEvent,
} from './export-format.js';

/** Export file formats. */
export type ExportFormat = 'ndjson' | 'csv';

/** Options for {@link exportLines}. */
export interface ExportLinesOptions {
  format: ExportFormat;
  /** Rows per keyset page (default 1000): memory is bounded by one page. */
  pageSize?: number;
  /** Time written in the header (default now). */
  exportedAt?: Date;
}

/**
 * Yields the export of one chain line by line (see `export-format.ts` for the layout), reading
 * events and checkpoints in keyset pages. Run it inside a REPEATABLE READ transaction so events,
 * head and checkpoints come from one snapshot: then a checkpoint beyond the last event can only
 * mean a truncated table, never a race with a concurrent writer.
 */
export async function* exportLines(
  q: Queryable,
  chain: string,
  opts: ExportLinesOptions,
): AsyncGenerator<string> {
  const pageSize = opts.pageSize ?? 1000;
  const csv = opts.format === 'csv';
  const head = (await q.query<{ seq: string }>('SELECT seq FROM audit_chain_heads WHERE chain = $1', [chain]))
    .rows[0];
  const toSeq = head ? Number(head.seq) : 0;
  const exportedAt = (opts.exportedAt ?? new Date()).toISOString();
  yield csv
    ? `${CSV_COLUMNS.join(',')}\r\n`
    : `${JSON.stringify({ type: 'header', format: EXPORT_FORMAT, version: 1, chain, toSeq, exportedAt })}\n`;
  const cpLine = (cp: SignedCheckpoint) =>
    csv ? checkpointCsvRow(cp) : `${JSON.stringify({ type: 'checkpoint', ...cp })}\n`;

  let cps = await listCheckpoints(q, chain, 0, pageSize);
  let cpIndex = 0;
  let latest: SignedCheckpoint | undefined;
  const nextCheckpoint = async (): Promise<SignedCheckpoint | undefined> => {
    if (cpIndex >= cps.length && cps.length === pageSize) {
      cps = await listCheckpoints(q, chain, (cps[cps.length - 1] as SignedCheckpoint).seq, pageSize);
      cpIndex = 0;
    }
    return cps[cpIndex];
  };

  let after = 0;
  for (;;) {
    const { rows } = await q.query<EventRow>(
      `SELECT ${EVENT_COLUMNS} FROM audit_events WHERE chain = $1 AND seq > $2 ORDER BY seq LIMIT $3`,
      [chain, after, pageSize],
    );
    let chunk = '';
    for (const row of rows) {
      const e = toExportedEvent(rowToEvent(row));
      chunk += csv ? eventCsvRow(e) : `${JSON.stringify(e)}\n`;
      for (let cp = await nextCheckpoint(); cp && cp.seq <= e.seq; cp = await nextCheckpoint()) {
        chunk += cpLine(cp);
        latest = cp;
        cpIndex += 1;
      }
    }
    if (chunk) yield chunk;
    if (rows.length < pageSize) break;
    after = Number((rows[rows.length - 1] as EventRow).seq);
  }
  // Checkpoints beyond the last event (a truncated table), then the latest again as the last line.
  for (let cp = await nextCheckpoint(); cp; cp = await nextCheckpoint()) {
    yield cpLine(cp);
    latest = cp;
    cpIndex += 1;
  }
  if (latest) yield cpLine(latest);
}

/** Events of `chain` with seq > `afterSeq`, oldest first, at most `limit` (a keyset page). */
export async function readEventsAfter(
  q: Queryable,
  chain: string,
  afterSeq: number,
  limit: number,
): Promise<ChainedAuditEvent[]> {
  const { rows } = await q.query<EventRow>(
    `SELECT ${EVENT_COLUMNS} FROM audit_events WHERE chain = $1 AND seq > $2 ORDER BY seq LIMIT $3`,
    [chain, afterSeq, limit],
  );
  return rows.map(rowToEvent);
}
