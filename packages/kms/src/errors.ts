/** Stable error codes every KMS provider maps its failures onto. */
export const KMS_ERROR_CODES = [
  'KEY_REVOKED',
  'KEY_NOT_FOUND',
  'KMS_ACCESS_DENIED',
  'KMS_THROTTLED',
  'KMS_UNAVAILABLE',
  'INVALID_CIPHERTEXT',
  'KMS_MISCONFIGURED',
] as const;

/** One of {@link KMS_ERROR_CODES}. */
export type KmsErrorCode = (typeof KMS_ERROR_CODES)[number];

/** Options for {@link KmsError}. */
export interface KmsErrorOptions {
  /** Provider name, e.g. `aws-kms`. */
  provider: string;
  /** The key reference as the tenant registered it; never key material. */
  keyRef?: string;
  /** The KMS operation that failed, e.g. `unwrap`. */
  operation?: string;
  /** The provider's request id, for reconciliation with the customer's KMS logs. */
  requestId?: string;
  /** Seconds the provider asked us to wait (Retry-After), when it said so. */
  retryAfterSeconds?: number;
  cause?: unknown;
}

/**
 * A typed KMS failure. `code` is stable and safe to show to clients; `message` names the key
 * reference and the operation, never key material or plaintext.
 */
export class KmsError extends Error {
  override readonly name = 'KmsError';
  readonly code: KmsErrorCode;
  readonly provider: string;
  readonly keyRef: string | undefined;
  readonly operation: string | undefined;
  readonly requestId: string | undefined;
  readonly retryAfterSeconds: number | undefined;

  constructor(code: KmsErrorCode, message: string, options: KmsErrorOptions) {
    super(message, { cause: options.cause });
    this.code = code;
    this.provider = options.provider;
    this.keyRef = options.keyRef;
    this.operation = options.operation;
    this.requestId = options.requestId;
    this.retryAfterSeconds = options.retryAfterSeconds;
  }

  /** Throttling and outages may succeed when tried again; revocation and misconfiguration will not. */
  get retryable(): boolean {
    return this.code === 'KMS_THROTTLED' || this.code === 'KMS_UNAVAILABLE';
  }

  /** The customer's key refuses us: the tenant's cached keys must be purged at once. */
  get revokesAccess(): boolean {
    return this.code === 'KEY_REVOKED' || this.code === 'KMS_ACCESS_DENIED' || this.code === 'KEY_NOT_FOUND';
  }
}

/**
 * Thrown when a key reference string cannot be parsed for its provider, or names a host this
 * deployment refuses. The HTTP layer answers it as `400 VALIDATION_FAILED` naming {@link field}.
 */
export class InvalidKeyRefError extends Error {
  override readonly name = 'InvalidKeyRefError';
  readonly code = 'INVALID_KEY_REF' as const;
  constructor(
    readonly provider: string,
    readonly input: string,
    readonly reason: string,
    /** The request field at fault: the reference, or the provider name. */
    readonly field: 'keyRef' | 'provider' = 'keyRef',
  ) {
    super(`invalid ${provider} key reference: ${reason}`);
  }
}

/** True when `err` is a {@link KmsError}. */
export function isKmsError(err: unknown): err is KmsError {
  return err instanceof KmsError;
}
