import { KmsError, type KmsErrorCode } from '@byok/kms';
import { GCP_PROVIDER } from './gcp-key-ref.js';

/** gRPC status names by number (google.rpc.Code). */
const GRPC_NAMES = [
  'OK',
  'CANCELLED',
  'UNKNOWN',
  'INVALID_ARGUMENT',
  'DEADLINE_EXCEEDED',
  'NOT_FOUND',
  'ALREADY_EXISTS',
  'PERMISSION_DENIED',
  'RESOURCE_EXHAUSTED',
  'FAILED_PRECONDITION',
  'ABORTED',
  'OUT_OF_RANGE',
  'UNIMPLEMENTED',
  'INTERNAL',
  'UNAVAILABLE',
  'DATA_LOSS',
  'UNAUTHENTICATED',
] as const;

/** HTTP status -> gRPC status name, for REST errors that carry only the HTTP status. */
const HTTP_TO_STATUS: Readonly<Record<number, string>> = {
  400: 'INVALID_ARGUMENT',
  401: 'UNAUTHENTICATED',
  403: 'PERMISSION_DENIED',
  404: 'NOT_FOUND',
  409: 'ABORTED',
  429: 'RESOURCE_EXHAUSTED',
  499: 'CANCELLED',
  500: 'INTERNAL',
  501: 'UNIMPLEMENTED',
  502: 'UNAVAILABLE',
  503: 'UNAVAILABLE',
  504: 'DEADLINE_EXCEEDED',
};

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ABORT_ERR',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
]);

/** Where the failure happened, for the message and the typed error. */
export interface GcpErrorContext {
  keyRef: string;
  operation: 'wrap' | 'unwrap' | 'describe';
}

interface ErrorLike {
  code?: unknown;
  status?: unknown;
  httpStatusCode?: unknown;
  message?: unknown;
  name?: unknown;
  response?: { status?: unknown; data?: { error?: { status?: unknown; message?: unknown } } };
  statusDetails?: unknown;
}

/** Works out the gRPC status name from a GoogleError (gRPC or REST), a GaxiosError or a bare HTTP status. */
export function gcpStatusOf(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const e = err as ErrorLike;
  const bodyStatus = e.response?.data?.error?.status;
  if (typeof bodyStatus === 'string') return bodyStatus;
  if (typeof e.status === 'string' && (GRPC_NAMES as readonly string[]).includes(e.status)) return e.status;
  // gRPC codes are 0..16; anything from 100 up in `.code` is an HTTP status (older gaxios errors).
  if (typeof e.code === 'number' && e.code >= 0 && e.code < GRPC_NAMES.length) return GRPC_NAMES[e.code];
  for (const http of [e.httpStatusCode, e.code, e.status, e.response?.status]) {
    const n = typeof http === 'string' && /^\d{3}$/.test(http) ? Number(http) : http;
    if (typeof n === 'number' && n >= 100) return HTTP_TO_STATUS[n] ?? (n >= 500 ? 'UNAVAILABLE' : undefined);
  }
  return undefined;
}

function isNetworkOrAbort(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const e = err as ErrorLike;
  return (
    e.name === 'AbortError' ||
    e.name === 'TimeoutError' ||
    (typeof e.code === 'string' && NETWORK_CODES.has(e.code))
  );
}

// Google's RetryInfo detail ({ retryDelay: { seconds } }), when a 429 carries one.
function retryAfterOf(err: unknown): number | undefined {
  const details = (err as ErrorLike | null)?.statusDetails;
  if (!Array.isArray(details)) return undefined;
  for (const d of details) {
    const seconds = (d as { retryDelay?: { seconds?: unknown } } | null)?.retryDelay?.seconds;
    const n = Number(seconds);
    if (seconds !== undefined && Number.isFinite(n) && n >= 0) return n;
  }
  return undefined;
}

/** Integrity failures (a request CRC32C the server rejected) are transport corruption: retryable. */
function isChecksumRejection(message: string): boolean {
  return /crc32c|checksum/i.test(message);
}

function codeFor(status: string | undefined, message: string, operation: string): KmsErrorCode {
  switch (status) {
    case 'FAILED_PRECONDITION':
      return 'KEY_REVOKED';
    case 'NOT_FOUND':
      return 'KEY_NOT_FOUND';
    case 'PERMISSION_DENIED':
    case 'UNAUTHENTICATED':
      return 'KMS_ACCESS_DENIED';
    case 'RESOURCE_EXHAUSTED':
      return 'KMS_THROTTLED';
    case 'INVALID_ARGUMENT':
      if (isChecksumRejection(message)) return 'KMS_UNAVAILABLE';
      // REST gives only HTTP 400 for FAILED_PRECONDITION when the body status is lost.
      if (/is not enabled, current state is/i.test(message)) return 'KEY_REVOKED';
      return operation === 'unwrap' ? 'INVALID_CIPHERTEXT' : 'KMS_MISCONFIGURED';
    case 'ALREADY_EXISTS':
    case 'OUT_OF_RANGE':
    case 'UNIMPLEMENTED':
      return 'KMS_MISCONFIGURED';
    default:
      // CANCELLED, DEADLINE_EXCEEDED, UNAVAILABLE, INTERNAL, ABORTED, UNKNOWN, DATA_LOSS, network, abort.
      return 'KMS_UNAVAILABLE';
  }
}

/** A sanitized stand-in for the SDK error: SDK errors may hold the request (with plaintext) in `config`. */
export class GcpKmsCallError extends Error {
  override readonly name = 'GcpKmsCallError';
  constructor(
    readonly status: string | undefined,
    message: string,
  ) {
    super(message);
  }
}

/** Maps any failure of an SDK call to a typed {@link KmsError}; KmsErrors pass through unchanged. */
export function mapGcpError(err: unknown, ctx: GcpErrorContext): KmsError {
  if (err instanceof KmsError) return err;
  const status = gcpStatusOf(err) ?? (isNetworkOrAbort(err) ? 'UNAVAILABLE' : undefined);
  const raw =
    typeof (err as ErrorLike | null)?.message === 'string' ? String((err as ErrorLike).message) : '';
  // Server messages name resources, never payloads; cap them anyway.
  const serverMessage = raw.slice(0, 300);
  const code = codeFor(status, serverMessage, ctx.operation);
  const options: ConstructorParameters<typeof KmsError>[2] = {
    provider: GCP_PROVIDER,
    keyRef: ctx.keyRef,
    operation: ctx.operation,
    cause: new GcpKmsCallError(status, serverMessage),
  };
  const retryAfterSeconds = retryAfterOf(err);
  if (retryAfterSeconds !== undefined) options.retryAfterSeconds = retryAfterSeconds;
  return new KmsError(
    code,
    `${GCP_PROVIDER} ${ctx.operation} of ${ctx.keyRef} failed (${status ?? 'UNKNOWN'}): ${serverMessage}`,
    options,
  );
}
