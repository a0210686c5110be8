import { z } from 'zod';

/** Every stable error code the API can answer with. */
export const ERROR_CODES = [
  'UNAUTHENTICATED',
  'CLIENT_CERTIFICATE_REQUIRED',
  'FORBIDDEN',
  'NOT_FOUND',
  'CONFLICT',
  'VALIDATION_FAILED',
  'MALFORMED_REQUEST',
  'PAYLOAD_TOO_LARGE',
  'UNSUPPORTED_MEDIA_TYPE',
  'INVALID_CIPHERTEXT',
  'INVALID_CONTEXT',
  'CMK_NOT_CONFIGURED',
  'CMK_VERIFICATION_FAILED',
  'KEY_REVOKED',
  'KEY_NOT_FOUND',
  'KMS_ACCESS_DENIED',
  'KMS_THROTTLED',
  'RATE_LIMITED',
  'KMS_UNAVAILABLE',
  'KMS_MISCONFIGURED',
  'TENANT_LOCKED',
  'PURPOSE_NOT_ALLOWED',
  'AUDIT_UNAVAILABLE',
  'EXPORT_BUSY',
  'STORE_UNAVAILABLE',
  'INTERNAL',
  'BUDGET_EXCEEDED',
  'MODEL_NOT_PRICED',
  'AI_KEY_INVALID',
  'AI_KEY_SUSPENDED',
  'AI_UPSTREAM_UNAVAILABLE',
  'AI_UPSTREAM_TIMEOUT',
] as const;

/** One of {@link ERROR_CODES}. */
export type ErrorCode = (typeof ERROR_CODES)[number];

/** RFC 9457 problem details with our stable `code`. */
export const Problem = z.object({
  type: z.string(),
  title: z.string(),
  status: z.number().int(),
  code: z.enum(ERROR_CODES),
  detail: z.string().optional(),
  instance: z.string().optional(),
  requestId: z.string().optional(),
  errors: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
});
/** Parsed problem body. */
export type Problem = z.infer<typeof Problem>;

/** HTTP status of each stable code (the service answers with it; the OpenAPI document groups by it). */
export const STATUS_BY_CODE: Record<ErrorCode, number> = {
  UNAUTHENTICATED: 401,
  CLIENT_CERTIFICATE_REQUIRED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
  VALIDATION_FAILED: 400,
  MALFORMED_REQUEST: 400,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  INVALID_CIPHERTEXT: 400,
  INVALID_CONTEXT: 400,
  CMK_NOT_CONFIGURED: 409,
  CMK_VERIFICATION_FAILED: 422,
  KEY_REVOKED: 403,
  KEY_NOT_FOUND: 403,
  KMS_ACCESS_DENIED: 403,
  KMS_THROTTLED: 429,
  RATE_LIMITED: 429,
  KMS_UNAVAILABLE: 503,
  KMS_MISCONFIGURED: 503,
  TENANT_LOCKED: 423,
  PURPOSE_NOT_ALLOWED: 403,
  AUDIT_UNAVAILABLE: 503,
  EXPORT_BUSY: 429,
  STORE_UNAVAILABLE: 503,
  INTERNAL: 500,
  // 402, not 429: the official SDKs retry 429 by default.
  BUDGET_EXCEEDED: 402,
  MODEL_NOT_PRICED: 422,
  // 424 Failed Dependency: the provider refused the tenant's key; not retried by the SDKs.
  AI_KEY_INVALID: 424,
  // 423 Locked, as TENANT_LOCKED: the tenant's own policy locked the key; SDKs do not retry 423.
  AI_KEY_SUSPENDED: 423,
  AI_UPSTREAM_UNAVAILABLE: 502,
  AI_UPSTREAM_TIMEOUT: 504,
};
