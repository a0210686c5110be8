import { ERROR_CODES, STATUS_BY_CODE, type ErrorCode } from '@byok/contract';
import { InvalidKeyRefError } from '@byok/kms';
import { toStoreError } from '@byok/store';
import { ZodError } from 'zod';

/** HTTP status for each stable code (declared once, in the contract). */
export { STATUS_BY_CODE };

/** Titles shown in problem bodies. */
export const TITLE_BY_CODE: Record<ErrorCode, string> = {
  UNAUTHENTICATED: 'Missing or invalid bearer token',
  CLIENT_CERTIFICATE_REQUIRED: 'A service token needs a client certificate on this connection',
  FORBIDDEN: 'Not allowed for this token',
  NOT_FOUND: 'Not found',
  CONFLICT: 'Conflict',
  VALIDATION_FAILED: 'Request failed validation',
  MALFORMED_REQUEST: 'Malformed request',
  PAYLOAD_TOO_LARGE: 'Request body too large',
  UNSUPPORTED_MEDIA_TYPE: 'Request body must be application/json',
  INVALID_CIPHERTEXT: 'Ciphertext cannot be decrypted',
  INVALID_CONTEXT: 'Invalid encryption context',
  CMK_NOT_CONFIGURED: 'The tenant has no customer key',
  CMK_VERIFICATION_FAILED: 'The customer key could not be verified',
  KEY_REVOKED: "The customer's key is disabled or revoked",
  KEY_NOT_FOUND: "The customer's key does not exist",
  KMS_ACCESS_DENIED: "The service may not use the customer's key",
  KMS_THROTTLED: 'The KMS is throttling requests',
  RATE_LIMITED: 'Too many requests; retry after the Retry-After delay',
  KMS_UNAVAILABLE: 'The KMS is unavailable',
  KMS_MISCONFIGURED: 'The KMS provider is not configured',
  TENANT_LOCKED: 'The tenant is locked by its kill switch',
  PURPOSE_NOT_ALLOWED: 'Purpose not allowed by tenant policy',
  AUDIT_UNAVAILABLE: 'The audit log cannot be written; request refused',
  EXPORT_BUSY: 'Too many audit exports of this tenant are running; retry later',
  STORE_UNAVAILABLE: 'The database is unavailable',
  INTERNAL: 'Internal error',
  BUDGET_EXCEEDED: 'An AI spend cap would be exceeded; request refused',
  MODEL_NOT_PRICED: 'The model has no price, and a spend cap applies; request refused',
  AI_KEY_INVALID: 'The AI provider refused the stored key; store a new version',
  AI_KEY_SUSPENDED: "The AI key is suspended by the tenant's policy",
  AI_UPSTREAM_UNAVAILABLE: 'The AI provider could not be reached',
  AI_UPSTREAM_TIMEOUT: 'The AI provider did not answer in time',
};

/** A user-facing error with a stable code. `detail` must never contain secrets or key material. */
export class AppError extends Error {
  override readonly name = 'AppError';
  constructor(
    readonly code: ErrorCode,
    readonly detail?: string,
    readonly extra: {
      errors?: { path: string; message: string }[];
      retryAfterSeconds?: number;
      cause?: unknown;
    } = {},
  ) {
    super(detail ?? code, { cause: extra.cause });
  }

  /** HTTP status of this error. */
  get status(): number {
    return STATUS_BY_CODE[this.code];
  }
}

const KNOWN = new Set<string>(ERROR_CODES);

/** Maps any thrown value onto our taxonomy. Unknown errors become INTERNAL with no detail. */
export function toAppError(err: unknown): AppError {
  if (err instanceof AppError) return err;
  // A key reference that does not parse, or names a host this deployment refuses, is bad input
  // like any other: 400 VALIDATION_FAILED naming the field (the KMS layer keeps its own class).
  if (err instanceof InvalidKeyRefError) {
    return new AppError('VALIDATION_FAILED', err.message, {
      errors: [{ path: err.field, message: err.reason }],
    });
  }
  if (err instanceof ZodError) {
    return new AppError('VALIDATION_FAILED', 'request failed validation', {
      errors: err.issues.map((i) => ({ path: i.path.join('.') || '(body)', message: i.message })),
    });
  }
  // The router could not percent-decode a path segment (`/v1/tokens/%`): the caller's fault.
  if (err instanceof URIError)
    return new AppError('MALFORMED_REQUEST', 'a path segment is not valid percent-encoding', { cause: err });
  if (err && typeof err === 'object') {
    const e = err as {
      code?: unknown;
      type?: unknown;
      status?: unknown;
      expose?: unknown;
      message?: unknown;
      retryAfterSeconds?: unknown;
    };
    // body-parser (express.json) errors
    if (e.type === 'entity.too.large')
      return new AppError('PAYLOAD_TOO_LARGE', 'request body exceeds the size limit');
    if (e.type === 'entity.parse.failed')
      return new AppError('MALFORMED_REQUEST', 'request body is not valid JSON');
    if (e.type === 'encoding.unsupported' || e.type === 'charset.unsupported')
      return new AppError('UNSUPPORTED_MEDIA_TYPE', 'unsupported body encoding');
    // Any other client error while reading the body (e.g. a gzip body that is not gzip, a length
    // mismatch) is the caller's fault, not an internal error.
    if (e.expose === true && typeof e.status === 'number' && e.status >= 400 && e.status < 500) {
      if (e.status === 413) return new AppError('PAYLOAD_TOO_LARGE', 'request body exceeds the size limit');
      if (e.status === 415) return new AppError('UNSUPPORTED_MEDIA_TYPE', 'unsupported body encoding');
      return new AppError('MALFORMED_REQUEST', 'request body could not be read');
    }
    // A store conflict (unique key, serialization failure, deadlock) is a concurrent write: a 409
    // the caller can retry, with our words, never the driver's (it names tables and constraints).
    if (
      (err as { name?: unknown }).name === 'StoreError' &&
      (e.code === 'CONFLICT' || e.code === 'SERIALIZATION_FAILURE')
    )
      return new AppError('CONFLICT', 'the resource was changed concurrently or already exists; retry', {
        cause: err,
      });
    // Text the database cannot store (a NUL character: 22021; or untranslatable: 22P05) can only
    // come from the caller's input: a 400, never a 500.
    const sqlState = (err as { sqlState?: unknown }).sqlState ?? e.code;
    if (sqlState === '22021' || sqlState === '22P05')
      return new AppError('MALFORMED_REQUEST', 'a text value contains a character that cannot be stored', {
        cause: err,
      });
    if (typeof e.code === 'string') {
      if (e.code === '23505') return new AppError('CONFLICT', 'the resource already exists', { cause: err });
      if (e.code === 'UNAVAILABLE' || e.code === 'ECONNREFUSED' || e.code === '57P01') {
        return new AppError('STORE_UNAVAILABLE', 'the database is unavailable', { cause: err });
      }
      if (e.code === 'AUDIT_UNAVAILABLE') {
        return new AppError(
          'AUDIT_UNAVAILABLE',
          'the audit event could not be committed, so the request was refused',
          { cause: err },
        );
      }
      if (KNOWN.has(e.code) && e.code !== 'INTERNAL') {
        const extra: { cause: unknown; retryAfterSeconds?: number } = { cause: err };
        if (typeof e.retryAfterSeconds === 'number') extra.retryAfterSeconds = e.retryAfterSeconds;
        return new AppError(
          e.code as ErrorCode,
          typeof e.message === 'string' ? e.message : undefined,
          extra,
        );
      }
    }
  }
  // A driver or socket error that escaped a repository unwrapped (a lost connection, a pool
  // checkout timeout, a server shutting down) is an outage, never an internal error.
  if (toStoreError(err).code === 'UNAVAILABLE')
    return new AppError('STORE_UNAVAILABLE', 'the database is unavailable', { cause: err });
  return new AppError('INTERNAL', undefined, { cause: err });
}
