import { KmsError, type KmsErrorCode } from '@byok/kms';

/** Where an Azure failure happened: the key reference and our operation name. */
export interface AzureErrorScope {
  keyRef: string;
  operation: string;
}

interface RestErrorLike {
  name?: string;
  message?: string;
  code?: string;
  statusCode?: number;
  details?: unknown;
  response?: { headers?: { get(name: string): string | undefined }; bodyAsText?: string | null };
}

const IDENTITY_ERRORS = ['AuthenticationError', 'AuthenticationRequiredError', 'CredentialUnavailableError'];

/** Key Vault's inner error code (`KeyDisabled`, `ForbiddenByRbac`, ...), from details or the raw body. */
export function innerErrorCode(err: RestErrorLike): string | undefined {
  const fromDetails = (d: unknown): string | undefined => {
    const e = (d as { error?: { innerError?: { code?: unknown }; innererror?: { code?: unknown } } })?.error;
    const c = e?.innerError?.code ?? e?.innererror?.code;
    return typeof c === 'string' ? c : undefined;
  };
  const direct = fromDetails(err.details);
  if (direct) return direct;
  const text = err.response?.bodyAsText;
  if (!text) return undefined;
  try {
    return fromDetails(JSON.parse(text));
  } catch {
    return undefined;
  }
}

/** Parses `Retry-After` (delta seconds or an HTTP date) into whole seconds. */
export function parseRetryAfter(value: string | undefined): number | undefined {
  if (!value) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim());
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, Math.ceil((at - Date.now()) / 1000));
}

/**
 * A cause safe to keep and log: the SDK's RestError carries the request, whose body holds the
 * value being wrapped, so only status, codes and the service's message are kept.
 */
function safeCause(err: RestErrorLike, inner: string | undefined): Error {
  const parts = [err.statusCode, err.code, inner].filter((p) => p !== undefined).join(' ');
  const cause = new Error(`${parts}: ${String(err.message ?? '').slice(0, 300)}`);
  cause.name = err.name ?? 'Error';
  return cause;
}

/** Maps any failure of a Key Vault call onto a typed {@link KmsError} (never key material). */
export function mapAzureError(err: unknown, scope: AzureErrorScope): KmsError {
  if (err instanceof KmsError) return err;
  const e = (err ?? {}) as RestErrorLike;
  const requestId = e.response?.headers?.get('x-ms-request-id') ?? undefined;
  const inner = innerErrorCode(e);
  const base = {
    provider: 'azure-kv',
    keyRef: scope.keyRef,
    operation: scope.operation,
    cause: safeCause(e, inner),
  };
  const withId = requestId ? { ...base, requestId } : base;
  const make = (code: KmsErrorCode, why: string, extra: { retryAfterSeconds?: number } = {}): KmsError =>
    new KmsError(code, `azure-kv ${scope.operation} of ${scope.keyRef}: ${why}`, { ...withId, ...extra });

  if (e.name && IDENTITY_ERRORS.includes(e.name)) {
    // MSAL's text names the AADSTS code and the app id, never the secret.
    const aad = /AADSTS\d+/.exec(e.message ?? '')?.[0];
    const kind = /\b(invalid_client|unauthorized_client|invalid_tenant|invalid_scope|invalid_request)\b/.exec(
      e.message ?? '',
    )?.[0];
    return make(
      'KMS_MISCONFIGURED',
      `the Azure credential could not get a token (${[kind, aad].filter(Boolean).join(' ') || e.name}); check tenant id, client id and client secret`,
    );
  }
  if (e.name === 'AbortError')
    return make('KMS_UNAVAILABLE', 'the call was aborted (deadline or cancellation)');

  const status = e.statusCode;
  // The SDK checks the key it fetched before calling the service, with plain Errors.
  const local = status === undefined ? (e.message ?? '') : '';
  if (/ expired at |can't be used before/.test(local))
    return make('KEY_REVOKED', 'the key is expired or not yet valid');
  if (/is not supported on key/.test(local)) {
    return make('KMS_MISCONFIGURED', 'the key does not permit wrapKey/unwrapKey (key_ops)');
  }
  if (status === undefined)
    return make('KMS_UNAVAILABLE', `Key Vault unreachable (${e.code ?? e.name ?? 'error'})`);
  if ((status === 401 || status === 403) && inner === 'KeyDisabled')
    return make('KEY_REVOKED', 'the key is disabled');
  if (status === 401) return make('KMS_ACCESS_DENIED', 'Key Vault rejected our access token');
  if (status === 403) {
    return make('KMS_ACCESS_DENIED', `access to the key is denied (${inner ?? e.code ?? 'Forbidden'})`);
  }
  if (status === 404) return make('KEY_NOT_FOUND', 'the key does not exist or was deleted');
  if (status === 429) {
    const retryAfterSeconds = parseRetryAfter(e.response?.headers?.get('retry-after'));
    return make(
      'KMS_THROTTLED',
      'Key Vault is throttling requests',
      retryAfterSeconds === undefined ? {} : { retryAfterSeconds },
    );
  }
  if (status === 400 && scope.operation === 'unwrap') {
    return make('INVALID_CIPHERTEXT', 'Key Vault could not unwrap the blob');
  }
  if (status >= 500 || status === 408) return make('KMS_UNAVAILABLE', `Key Vault answered ${status}`);
  return make('KMS_MISCONFIGURED', `Key Vault refused the request (${status} ${e.code ?? ''})`.trim());
}
