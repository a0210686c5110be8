/**
 * The audit write failed: the caller must fail its request (HTTP 503) and send no plaintext.
 * `cause` holds the underlying store error.
 */
export class AuditUnavailableError extends Error {
  override readonly name = 'AuditUnavailableError';
  readonly code = 'AUDIT_UNAVAILABLE' as const;
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, { cause: options.cause });
  }
}

/** A programmer error: the event is malformed or its details could carry sensitive data. */
export class AuditInputError extends Error {
  override readonly name = 'AuditInputError';
  readonly code = 'AUDIT_INVALID_EVENT' as const;
}

/** A query filter or cursor is invalid (e.g. a cursor from another query). */
export class AuditQueryError extends Error {
  override readonly name = 'AuditQueryError';
  readonly code = 'VALIDATION_FAILED' as const;
}
