import type { AuditEvent, AuditQueryFilters } from '@byok/audit';

/** Filters of an audit query (tenant scoping is decided by the route, not the caller). */
export type AuditFilters = Omit<AuditQueryFilters, 'chain'>;

/** One event as the API shows it: the stored event, its time as ISO text, hashes as hex. */
export type AuditEventView = Omit<AuditEvent, 'at'> & { at: string; hash: string; prevHash: string };

/** Read side of the audit log used by the API. */
export interface AuditQueries {
  /** One page of events matching `filters`, oldest first. */
  query: (
    filters: AuditFilters,
    cursor: string | undefined,
    limit: number,
  ) => Promise<{ events: AuditEventView[]; nextCursor: string | null }>;
  verify(chain: string): Promise<{ ok: boolean; checked: number; firstBrokenSeq?: number; reason?: string }>;
}
