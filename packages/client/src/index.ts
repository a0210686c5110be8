export { ByokClient, createClient, type ClientOptions } from './byok-client.js';
export {
  ByokApiError,
  CLIENT_ERROR_CODES,
  isByokApiError,
  type ByokApiErrorInit,
  type ByokErrorCode,
  type ClientErrorCode,
} from './client-errors.js';
export type * from './client-types.js';
export type * from './usage-types.js';
export { chunkItems, DEFAULT_MAX_BATCH_BYTES } from './batch-chunks.js';
export type { TokenSource, TransportOptions } from './http-transport.js';
export {
  computeDelayMs,
  DEFAULT_RETRY_POLICY,
  parseRetryAfter,
  RETRYABLE_STATUSES,
  type RetryOptions,
  type RetryPolicy,
} from './retry-policy.js';
export { CLIENT_OPERATIONS } from './client-operations.js';
