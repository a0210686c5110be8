import { AuditQueryError } from './audit-errors.js';
import type { AuditDetailValue, AuditEvent, AuditOutcome, ChainedAuditEvent } from './audit-event.js';
import type { SignedCheckpoint } from './checkpoint.js';
import { EVENT_COLUMN_NAMES, EVENT_COLUMN_SPECS } from './event-rows.js';

/**
 * Export format `byok-audit-export` v1. NDJSON: one JSON object per line, each with a `type`:
 * - `header` (first line): `{type, format, version, chain, toSeq, exportedAt}`;
 * - `event`: every field of the event (`at` ISO-8601 UTC ms, absent = null), `prevHash`, `hash` (hex);
 * - `checkpoint`: a {@link SignedCheckpoint}; written right after the event at its `seq`, any
 *   checkpoint beyond the last exported event after all events, and the latest checkpoint again
 *   as the LAST line.
 */
export const EXPORT_FORMAT = 'byok-audit-export';

/** One exported event as JSON. */
export type ExportedEvent = Omit<AuditEvent, 'at'> & {
  type: 'event';
  /** ISO 8601 with milliseconds. */
  at: string;
  prevHash: string;
  hash: string;
};

/** A parsed export line. */
export type ExportLine =
  | { type: 'header'; chain: string; toSeq: number }
  | { type: 'event'; event: ChainedAuditEvent }
  | { type: 'checkpoint'; checkpoint: SignedCheckpoint };

/** The JSON shape of an event in an export (and in SIEM webhook batches). */
export function toExportedEvent(e: ChainedAuditEvent): ExportedEvent {
  return {
    type: 'event',
    chain: e.chain,
    seq: e.seq,
    at: e.at.toISOString(),
    tenantId: e.tenantId,
    actorTokenId: e.actorTokenId,
    actorRole: e.actorRole,
    action: e.action,
    resource: e.resource,
    outcome: e.outcome,
    errorCode: e.errorCode,
    purpose: e.purpose,
    kmsProvider: e.kmsProvider,
    kmsKeyRef: e.kmsKeyRef,
    kmsRequestId: e.kmsRequestId,
    requestId: e.requestId,
    clientRequestId: e.clientRequestId,
    clientAddress: e.clientAddress,
    details: e.details,
    prevHash: Buffer.from(e.prevHash).toString('hex'),
    hash: Buffer.from(e.hash).toString('hex'),
  };
}

const HEX32 = /^[0-9a-f]{64}$/;
const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);

function bad(line: number, why: string): never {
  throw new AuditQueryError(`line ${line}: ${why}`);
}

/** Parses one NDJSON export line (1-based `lineNo` for messages); throws `AuditQueryError`. */
export function parseExportLine(text: string, lineNo: number): ExportLine {
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(text) as Record<string, unknown>;
  } catch {
    bad(lineNo, 'not JSON');
  }
  if (typeof o !== 'object' || o === null) bad(lineNo, 'not an object');
  if (o.type === 'header') {
    if (o.format !== EXPORT_FORMAT || o.version !== 1) bad(lineNo, 'not a byok-audit-export v1 header');
    return { type: 'header', chain: String(o.chain), toSeq: Number(o.toSeq) };
  }
  const seq = o.seq;
  if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 1)
    bad(lineNo, 'seq must be a positive integer');
  if (typeof o.chain !== 'string' || typeof o.at !== 'string' || Number.isNaN(Date.parse(o.at))) {
    bad(lineNo, 'chain and at are required');
  }
  if (o.type === 'checkpoint') {
    if (typeof o.headHash !== 'string' || !HEX32.test(o.headHash)) bad(lineNo, 'headHash must be 64 hex');
    if (typeof o.signature !== 'string' || typeof o.keyId !== 'string')
      bad(lineNo, 'signature and keyId required');
    return {
      type: 'checkpoint',
      checkpoint: {
        chain: o.chain,
        seq,
        headHash: o.headHash,
        at: o.at,
        signature: o.signature,
        keyId: o.keyId,
      },
    };
  }
  if (o.type !== 'event') bad(lineNo, 'unknown line type');
  if (
    typeof o.hash !== 'string' ||
    !HEX32.test(o.hash) ||
    typeof o.prevHash !== 'string' ||
    !HEX32.test(o.prevHash)
  ) {
    bad(lineNo, 'hash and prevHash must be 64 hex');
  }
  if (typeof o.action !== 'string' || typeof o.outcome !== 'string')
    bad(lineNo, 'action and outcome required');
  const details = o.details;
  if (details !== null && (typeof details !== 'object' || Array.isArray(details))) bad(lineNo, 'bad details');
  return {
    type: 'event',
    event: {
      chain: o.chain,
      seq,
      tenantId: str(o.tenantId),
      at: new Date(o.at),
      actorTokenId: str(o.actorTokenId),
      actorRole: str(o.actorRole),
      action: o.action,
      resource: str(o.resource),
      outcome: o.outcome as AuditOutcome,
      errorCode: str(o.errorCode),
      purpose: str(o.purpose),
      kmsProvider: str(o.kmsProvider),
      kmsKeyRef: str(o.kmsKeyRef),
      kmsRequestId: str(o.kmsRequestId),
      requestId: str(o.requestId),
      // Absent in exports written before these fields existed: null, as stored.
      clientRequestId: str(o.clientRequestId),
      clientAddress: str(o.clientAddress),
      details: (details ?? null) as Record<string, AuditDetailValue> | null,
      prevHash: Buffer.from(o.prevHash, 'hex'),
      hash: Buffer.from(o.hash, 'hex'),
    },
  };
}

/**
 * CSV columns of the export, in order (header row): `type`, the audit_events columns in their one
 * order ({@link EVENT_COLUMN_SPECS}), `signature`, `key_id`. Checkpoint rows fill `hash`,
 * `signature`, `key_id`.
 */
export const CSV_COLUMNS: readonly string[] = ['type', ...EVENT_COLUMN_NAMES, 'signature', 'key_id'];

const CSV_INDEX = (name: string): number => CSV_COLUMNS.indexOf(name);

// Spreadsheets run cells that start with these as formulas (CSV injection, OWASP).
const FORMULA_START = /^[=+\-@\t\r]/;

/**
 * One CSV cell: a text starting like a formula gets a leading `'` so a spreadsheet shows it as
 * text (the CSV is for reading; the NDJSON export is the verifiable form), then RFC 4180 quoting.
 */
export function csvField(v: string | number | null): string {
  if (v === null) return '';
  let s = String(v);
  if (typeof v === 'string' && FORMULA_START.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** One CSV row (with CRLF) for an event. Empty field = null (stored strings are never empty). */
export function eventCsvRow(e: ExportedEvent): string {
  const cells = ['event', ...EVENT_COLUMN_SPECS.map(({ field }) => csvValue(e[field])), null, null];
  return `${cells.map(csvField).join(',')}\r\n`;
}

function csvValue(v: ExportedEvent[keyof ExportedEvent]): string | number | null {
  return typeof v === 'object' && v !== null ? JSON.stringify(v) : v;
}

/** One CSV row for a checkpoint: `hash` holds the signed head hash. */
export function checkpointCsvRow(cp: SignedCheckpoint): string {
  const cells: (string | number | null)[] = Array.from({ length: CSV_COLUMNS.length }, () => null);
  cells[CSV_INDEX('type')] = 'checkpoint';
  cells[CSV_INDEX('chain')] = cp.chain;
  cells[CSV_INDEX('seq')] = cp.seq;
  cells[CSV_INDEX('at')] = cp.at;
  cells[CSV_INDEX('hash')] = cp.headHash;
  cells[CSV_INDEX('signature')] = cp.signature;
  cells[CSV_INDEX('key_id')] = cp.keyId;
  return `${cells.map(csvField).join(',')}\r\n`;
}
