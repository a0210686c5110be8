import type { TokenCredential } from '@azure/core-auth';
import type { HttpClient } from '@azure/core-rest-pipeline';
import { CryptographyClient, KeyClient, type KeyWrapAlgorithm } from '@azure/keyvault-keys';
import {
  KmsError,
  ownKeyRef,
  type CallOptions,
  type EncryptionContext,
  type KeyHealth,
  type KeyHealthCapability,
  type KeyRef,
  type KmsProvider,
  type UnwrapResult,
  type WrapResult,
} from '@byok/kms';
import { mapAzureError, innerErrorCode } from './azure-error-mapper.js';
import { AZURE_PROVIDER, parseAzureKeyRef, type AzureKeyRef } from './azure-key-ref.js';
import { bindContext, DATA_KEY_BYTES, unbindContext } from './context-binding.js';
import { decodeAzureBlob, encodeAzureBlob } from './wrapped-blob.js';

/** Wrap algorithms this adapter uses: both are always performed by Key Vault, never locally. */
export type AzureWrapAlgorithm = Extract<KeyWrapAlgorithm, 'RSA-OAEP-256' | 'A256KW'>;

/** Options for {@link createAzureKeyVaultProvider}. */
export interface AzureKeyVaultProviderOptions {
  /** Credential for Key Vault (production: managed identity / DefaultAzureCredential). */
  credential: TokenCredential;
  /** Extra CA (PEM) to trust, for emulators or TLS-inspecting proxies. */
  tlsCa?: string;
  /**
   * The HTTP client every Key Vault request goes through. The service passes one built on its
   * egress guard (`egressHttpClient`); without it the SDK's own client connects.
   */
  httpClient?: HttpClient;
  /** Skip the check that the vault host ends in the challenge's resource host (emulators only). */
  disableChallengeResourceVerification?: boolean;
  /** Pick the algorithm without reading the key; by default it follows the key's `kty`. */
  algorithmFor?: (ref: AzureKeyRef) => AzureWrapAlgorithm | undefined;
  /** Deadline of one call when the caller gives none (default 10000 ms). */
  timeoutMs?: number;
  /** Most cached CryptographyClients (one per key id; default 1000). */
  maxClients?: number;
}

/** The Azure provider: a {@link KmsProvider} with {@link KeyHealthCapability}. */
export type AzureKeyVaultProvider = KmsProvider & KeyHealthCapability;

interface RawResponse {
  headers?: { get(name: string): string | undefined };
  parsedBody?: unknown;
}

const PROVIDER = AZURE_PROVIDER;

const asAzureRef = (ref: KeyRef, operation: string) => ownKeyRef<AzureKeyRef>(PROVIDER, ref, operation);

function parseAzureKid(kid: string): AzureKeyRef | undefined {
  try {
    return parseAzureKeyRef(kid);
  } catch {
    return undefined;
  }
}

function algorithmForKty(kty: string | undefined): AzureWrapAlgorithm | undefined {
  if (kty === 'RSA' || kty === 'RSA-HSM') return 'RSA-OAEP-256';
  if (kty === 'oct' || kty === 'oct-HSM') return 'A256KW';
  return undefined;
}

/**
 * Azure Key Vault / Managed HSM adapter. Wraps `dataKey || SHA-256(context)` server-side
 * (RSA-OAEP-256 for RSA keys, A256KW for oct-HSM keys) and stores the exact key version in
 * the blob, so unwrap uses the version that wrapped.
 */
export function createAzureKeyVaultProvider(options: AzureKeyVaultProviderOptions): AzureKeyVaultProvider {
  const defaultTimeout = options.timeoutMs ?? 10_000;
  const maxClients = options.maxClients ?? 1000;
  // Retries are withResilience's job (jittered, Retry-After aware, bounded by the deadline).
  const clientOptions = {
    retryOptions: { maxRetries: 0 },
    disableChallengeResourceVerification: options.disableChallengeResourceVerification ?? false,
    ...(options.tlsCa ? { tlsOptions: { ca: options.tlsCa } } : {}),
    ...(options.httpClient ? { httpClient: options.httpClient } : {}),
  };
  const keyClients = new Map<string, KeyClient>();
  const cryptoClients = new Map<string, CryptographyClient>();
  const ktyCache = new Map<string, AzureWrapAlgorithm>();

  const keyClient = (vaultUrl: string): KeyClient => {
    let c = keyClients.get(vaultUrl);
    if (!c) {
      c = new KeyClient(vaultUrl, options.credential, clientOptions);
      keyClients.set(vaultUrl, c);
    }
    return c;
  };
  const cryptoClient = (keyId: string): CryptographyClient => {
    let c = cryptoClients.get(keyId);
    if (!c) {
      if (cryptoClients.size >= maxClients) {
        const oldest = cryptoClients.keys().next().value;
        if (oldest !== undefined) cryptoClients.delete(oldest);
      }
      c = new CryptographyClient(keyId, options.credential, clientOptions);
      cryptoClients.set(keyId, c);
    }
    return c;
  };
  const signalFor = (opts?: CallOptions): AbortSignal => {
    const deadline = AbortSignal.timeout(opts?.timeoutMs ?? defaultTimeout);
    return opts?.signal ? AbortSignal.any([opts.signal, deadline]) : deadline;
  };

  /**
   * The wrap algorithm of `ref`'s key type. A versioned ref (unwrap passes the blob's kid) is
   * looked up at that version: a key's versions can differ in type, so the current version's
   * type says nothing about the one that wrapped. A version's type never changes; it is cached.
   */
  async function algorithm(ref: AzureKeyRef, signal: AbortSignal): Promise<AzureWrapAlgorithm> {
    const chosen = options.algorithmFor?.(ref);
    if (chosen) return chosen;
    const cacheKey = `${ref.vaultUrl.toLowerCase()}/keys/${ref.name}/${ref.version ?? ''}`;
    const cached = ktyCache.get(cacheKey);
    if (cached) return cached;
    const key = await keyClient(ref.vaultUrl).getKey(ref.name, {
      abortSignal: signal,
      ...(ref.version ? { version: ref.version } : {}),
    });
    const alg = algorithmForKty(key.keyType);
    if (!alg) {
      throw new KmsError(
        'KMS_MISCONFIGURED',
        `azure-kv key ${ref.uri} has type ${String(key.keyType)}; use RSA or oct-HSM`,
        {
          provider: PROVIDER,
          keyRef: ref.uri,
        },
      );
    }
    ktyCache.set(cacheKey, alg);
    return alg;
  }

  async function wrap(
    keyRef: KeyRef,
    plaintext: Uint8Array,
    ctx: EncryptionContext,
    opts?: CallOptions,
  ): Promise<WrapResult> {
    const ref = asAzureRef(keyRef, 'wrap');
    if (plaintext.byteLength !== DATA_KEY_BYTES) {
      throw new KmsError(
        'KMS_MISCONFIGURED',
        `azure-kv wrap needs a ${DATA_KEY_BYTES}-byte data key, got ${plaintext.byteLength} bytes`,
        {
          provider: PROVIDER,
          keyRef: ref.uri,
          operation: 'wrap',
        },
      );
    }
    const bound = bindContext(plaintext, ctx);
    const signal = signalFor(opts);
    let raw: RawResponse | undefined;
    try {
      const alg = await algorithm(ref, signal);
      const result = await cryptoClient(ref.uri).wrapKey(alg, bound, {
        abortSignal: signal,
        onResponse: (r: RawResponse) => {
          raw = r;
        },
      });
      // The SDK reports the kid it cached at its first GET; the response names the version used.
      const kidFromBody = (raw?.parsedBody as { kid?: unknown } | undefined)?.kid;
      const kid = typeof kidFromBody === 'string' ? kidFromBody : result.keyID;
      if (!kid || !parseAzureKid(kid)?.version) {
        throw new KmsError('KMS_UNAVAILABLE', `azure-kv wrap of ${ref.uri} returned no versioned key id`, {
          provider: PROVIDER,
          keyRef: ref.uri,
          operation: 'wrap',
        });
      }
      const requestId = raw?.headers?.get('x-ms-request-id');
      return {
        wrapped: encodeAzureBlob(kid, result.result),
        keyVersion: kid,
        ...(requestId ? { requestId } : {}),
      };
    } catch (err) {
      throw mapAzureError(err, { keyRef: ref.uri, operation: 'wrap' });
    } finally {
      bound.fill(0);
    }
  }

  async function unwrap(
    keyRef: KeyRef,
    blob: Uint8Array,
    ctx: EncryptionContext,
    opts?: CallOptions,
  ): Promise<UnwrapResult> {
    const ref = asAzureRef(keyRef, 'unwrap');
    const invalid = (why: string): KmsError =>
      new KmsError('INVALID_CIPHERTEXT', `azure-kv unwrap under ${ref.uri}: ${why}`, {
        provider: PROVIDER,
        keyRef: ref.uri,
        operation: 'unwrap',
      });
    const decoded = decodeAzureBlob(blob);
    if (!decoded) throw invalid('not an azure-kv wrapped blob');
    const kidRef = parseAzureKid(decoded.kid);
    if (!kidRef) throw invalid('the blob names no valid key id');
    if (
      kidRef.vaultUrl.toLowerCase() !== ref.vaultUrl.toLowerCase() ||
      kidRef.name !== ref.name ||
      !kidRef.version ||
      (ref.version !== undefined && ref.version !== kidRef.version)
    ) {
      throw invalid('the blob was wrapped by another key');
    }
    const signal = signalFor(opts);
    let raw: RawResponse | undefined;
    let bound: Uint8Array | undefined;
    try {
      const alg = await algorithm(kidRef, signal);
      const result = await cryptoClient(kidRef.uri).unwrapKey(alg, decoded.wrapped, {
        abortSignal: signal,
        onResponse: (r: RawResponse) => {
          raw = r;
        },
      });
      bound = result.result;
      const plaintext = unbindContext(bound, ctx);
      if (!plaintext) throw invalid('the encryption context does not match');
      const requestId = raw?.headers?.get('x-ms-request-id');
      return { plaintext, ...(requestId ? { requestId } : {}) };
    } catch (err) {
      throw mapAzureError(err, { keyRef: ref.uri, operation: 'unwrap' });
    } finally {
      bound?.fill(0);
    }
  }

  async function describe(keyRef: KeyRef, opts?: CallOptions): Promise<KeyHealth> {
    const ref = asAzureRef(keyRef, 'describe');
    let raw: RawResponse | undefined;
    try {
      const key = await keyClient(ref.vaultUrl).getKey(ref.name, {
        abortSignal: signalFor(opts),
        onResponse: (r: RawResponse) => {
          raw = r;
        },
        ...(ref.version ? { version: ref.version } : {}),
      });
      const requestId = raw?.headers?.get('x-ms-request-id');
      const p = key.properties;
      const expired = p.expiresOn !== undefined && p.expiresOn.getTime() < Date.now();
      const health: KeyHealth =
        p.enabled === false
          ? { state: 'disabled', detail: 'Disabled' }
          : expired
            ? { state: 'disabled', detail: 'Expired' }
            : { state: 'enabled', detail: 'Enabled' };
      return requestId ? { ...health, requestId } : health;
    } catch (err) {
      // Some services refuse a GET of a disabled key outright; that still means "disabled".
      const e = err as { statusCode?: number };
      if (e.statusCode === 403 && innerErrorCode(err as never) === 'KeyDisabled') {
        return { state: 'disabled', detail: 'KeyDisabled' };
      }
      throw mapAzureError(err, { keyRef: ref.uri, operation: 'describe' });
    }
  }

  return { name: PROVIDER, wrap, unwrap, describe } satisfies AzureKeyVaultProvider;
}
