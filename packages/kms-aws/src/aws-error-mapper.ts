import { KmsError, type KmsErrorCode } from '@byok/kms';

/** What an error is mapped against: the reference and operation it happened on. */
export interface AwsErrorContext {
  keyRef: string;
  operation: string;
}

const BY_NAME: Readonly<Record<string, KmsErrorCode>> = {
  DisabledException: 'KEY_REVOKED',
  // Pending deletion, pending import, or a disconnected custom key store: the customer's key is
  // not usable until the customer acts, which is what revocation means for us.
  KMSInvalidStateException: 'KEY_REVOKED',
  NotFoundException: 'KEY_NOT_FOUND',
  AccessDeniedException: 'KMS_ACCESS_DENIED',
  // Our own credentials are unknown, expired or sign badly: AWS refuses us before it looks at the
  // key. We cannot tell this from a revoked grant, so we fail closed as access denied; operators
  // see the AWS error name in the cause and the message.
  UnrecognizedClientException: 'KMS_ACCESS_DENIED',
  InvalidSignatureException: 'KMS_ACCESS_DENIED',
  IncompleteSignatureException: 'KMS_ACCESS_DENIED',
  ExpiredTokenException: 'KMS_ACCESS_DENIED',
  InvalidClientTokenId: 'KMS_ACCESS_DENIED',
  IncorrectKeyException: 'INVALID_CIPHERTEXT',
  InvalidCiphertextException: 'INVALID_CIPHERTEXT',
  ThrottlingException: 'KMS_THROTTLED',
  LimitExceededException: 'KMS_THROTTLED',
  KMSInternalException: 'KMS_UNAVAILABLE',
  DependencyTimeoutException: 'KMS_UNAVAILABLE',
  KeyUnavailableException: 'KMS_UNAVAILABLE',
  ServiceUnavailableException: 'KMS_UNAVAILABLE',
  AbortError: 'KMS_UNAVAILABLE',
  TimeoutError: 'KMS_UNAVAILABLE',
  InvalidKeyUsageException: 'KMS_MISCONFIGURED',
  InvalidArnException: 'KMS_MISCONFIGURED',
  InvalidGrantTokenException: 'KMS_MISCONFIGURED',
  UnsupportedOperationException: 'KMS_MISCONFIGURED',
  ValidationException: 'KMS_MISCONFIGURED',
};

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_SOCKET',
]);

interface SdkErrorShape {
  name?: string;
  code?: string;
  message?: string;
  $fault?: 'client' | 'server';
  $metadata?: { httpStatusCode?: number; requestId?: string };
  cause?: unknown;
}

/** The AWS request id of a response or SDK error, when there is one. */
export function awsRequestId(err: unknown): string | undefined {
  return (err as SdkErrorShape | undefined)?.$metadata?.requestId || undefined;
}

const NETWORK_IN_MESSAGE = new RegExp(`\\b(${[...NETWORK_CODES].join('|')})\\b`);

function networkCode(err: SdkErrorShape | undefined, depth = 0): string | undefined {
  if (!err || depth > 3) return undefined;
  if (err.code && NETWORK_CODES.has(err.code)) return err.code;
  // When the socket error comes from another realm (e.g. a VM context), the SDK re-wraps it as
  // "AWS SDK error wrapper for Error: connect ECONNREFUSED ..." and drops `code`.
  const inMessage = typeof err.message === 'string' ? NETWORK_IN_MESSAGE.exec(err.message)?.[1] : undefined;
  return inMessage ?? networkCode(err.cause as SdkErrorShape | undefined, depth + 1);
}

function codeFor(e: SdkErrorShape): KmsErrorCode {
  const byName = e.name ? BY_NAME[e.name] : undefined;
  if (byName) return byName;
  if (networkCode(e)) return 'KMS_UNAVAILABLE';
  const status = e.$metadata?.httpStatusCode;
  if (status !== undefined && status >= 500) return 'KMS_UNAVAILABLE';
  if (status === 429) return 'KMS_THROTTLED';
  if (status !== undefined && status >= 400) return 'KMS_MISCONFIGURED';
  // No response at all: something between us and AWS failed.
  return 'KMS_UNAVAILABLE';
}

/**
 * A sanitized stand-in for the SDK error, kept as `cause`. The SDK's own error can carry the raw
 * HTTP response (`$response`, and `$responseBodyText` on a deserialization failure: for Decrypt
 * or GenerateDataKey that body holds the plaintext key) and a chain of causes; this keeps what
 * operators need, with the SDK error's name so logs still say which AWS error it was.
 */
export class AwsKmsCallError extends Error {
  /** `client` or `server`, as the SDK classified the failure. */
  readonly fault: 'client' | 'server' | undefined;
  /** The HTTP status AWS answered with, when it answered. */
  readonly httpStatusCode: number | undefined;
  /** The socket-level code (ECONNREFUSED, ...) when the failure was the network. */
  readonly networkCode: string | undefined;

  constructor(e: SdkErrorShape) {
    super(typeof e.message === 'string' ? e.message.slice(0, 300) : '');
    this.name = typeof e.name === 'string' ? e.name.slice(0, 100) : 'Error';
    this.fault = e.$fault;
    this.httpStatusCode = e.$metadata?.httpStatusCode;
    this.networkCode = networkCode(e);
  }
}

/**
 * Maps an `@aws-sdk/client-kms` error (or a network failure) to a {@link KmsError}. The message
 * names the AWS error, the operation and the key reference; the cause is an
 * {@link AwsKmsCallError}, never the SDK error itself.
 */
export function mapAwsError(err: unknown, at: AwsErrorContext): KmsError {
  if (err instanceof KmsError) return err;
  const e = (err ?? {}) as SdkErrorShape;
  const code = codeFor(e);
  const what = networkCode(e) ?? e.name ?? 'Error';
  return new KmsError(code, `aws-kms ${at.operation} with ${at.keyRef} failed: ${what}`, {
    provider: 'aws-kms',
    keyRef: at.keyRef,
    operation: at.operation,
    requestId: awsRequestId(err),
    cause: new AwsKmsCallError(e),
  });
}
