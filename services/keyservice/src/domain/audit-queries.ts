/** Filters of an audit query (tenant scoping is decided by the route, not the caller). */
export interface AuditFilters {
  tenantId?: string;
  action?: string;
  outcome?: 'success' | 'failure' | 'denied';
  actorTokenId?: string;
  purpose?: string;
  resource?: string;
  since?: Date;
  until?: Date;
}

/** One event as the API shows it. */
export interface AuditEventView {
  chain: string;
  seq: number;
  at: string;
  tenantId: string | null;
  actorTokenId: string | null;
  actorRole: string | null;
  action: string;
  resource: string | null;
  outcome: string;
  errorCode: string | null;
  purpose: string | null;
  kmsProvider: string | null;
  kmsKeyRef: string | null;
  kmsRequestId: string | null;
  requestId: string | null;
  details: Record<string, unknown> | null;
  hash: string;
  prevHash: string;
}

/** Read side of the audit log used by the API. */
export interface AuditQueries {
  query(
    filters: AuditFilters,
    cursor: string | undefined,
    limit: number,
  ): Promise<{ events: AuditEventView[]; nextCursor: string | null }>;
  verify(chain: string): Promise<{ ok: boolean; checked: number; firstBrokenSeq?: number; reason?: string }>;
}
