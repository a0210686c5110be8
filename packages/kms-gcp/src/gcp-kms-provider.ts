import { KeyManagementServiceClient } from '@google-cloud/kms';
import {
  KmsError,
  ownKeyRef,
  type CallOptions,
  type EncryptionContext,
  type KeyHealth,
  type KeyHealthCapability,
  type KeyRef,
  type KeyState,
  type KmsProvider,
  type UnwrapResult,
  type WrapResult,
} from '@byok/kms';
import type { CallOptions as GaxCallOptions, ClientOptions } from 'google-gax';
import { crc32cMatches, crc32cOf } from './crc32c-checksum.js';
import { mapGcpError, type GcpErrorContext } from './gcp-error-mapper.js';
import { GCP_PROVIDER, type GcpKeyRef } from './gcp-key-ref.js';

/** The slice of the SDK client this adapter calls (tests may hand in their own). */
export type GcpKmsClientSlice = Pick<
  KeyManagementServiceClient,
  'encrypt' | 'decrypt' | 'getCryptoKey' | 'getCryptoKeyVersion'
>;

/** Options for {@link createGcpKmsProvider}. */
export interface GcpKmsProviderOptions {
  /** API host (default `cloudkms.googleapis.com`; `127.0.0.1` for the emulator). */
  apiEndpoint?: string;
  /** API port (default 443). */
  port?: number;
  /** `https` (default) or `http` (emulator only). */
  protocol?: 'http' | 'https';
  /** REST (HTTP/1.1 + JSON) transport when true (default true: the transport our tests exercise). */
  fallback?: boolean;
  /** Auth client; when absent the SDK uses Application Default Credentials. */
  authClient?: ClientOptions['authClient'];
  /** A ready client (or a slice of one); the connection options above are then ignored. */
  client?: GcpKmsClientSlice;
  /** Deadline per call when the caller gives none (default 10000 ms). */
  timeoutMs?: number;
}

/** The GCP provider: wrap/unwrap, key health, and close for the client it created. */
export type GcpKmsProvider = KmsProvider & KeyHealthCapability & { close(): Promise<void> };

/** Canonical JSON of the context (keys sorted, as the envelope's AAD): the AAD we send to Cloud KMS. */
export function canonicalAad(ctx: EncryptionContext): Buffer {
  const keys = Object.keys(ctx).sort();
  const sorted: Record<string, string> = {};
  for (const k of keys) sorted[k] = String(ctx[k]);
  return Buffer.from(JSON.stringify(sorted), 'utf8');
}

const STATES: Readonly<Record<string, KeyState>> = {
  ENABLED: 'enabled',
  DISABLED: 'disabled',
  DESTROY_SCHEDULED: 'pending-deletion',
  DESTROYED: 'destroyed',
};
// The SDK decodes enums to names; numbers appear if a caller-supplied client skips decoding.
const STATE_NUMBERS: Readonly<Record<number, string>> = {
  1: 'ENABLED',
  2: 'DISABLED',
  3: 'DESTROYED',
  4: 'DESTROY_SCHEDULED',
};

function gcpRef(ref: KeyRef, operation: string): GcpKeyRef {
  return ownKeyRef<GcpKeyRef>(GCP_PROVIDER, ref, operation);
}

function asBytes(v: unknown): Uint8Array | undefined {
  if (v instanceof Uint8Array) return v;
  if (typeof v === 'string') return Buffer.from(v, 'base64');
  return undefined;
}

function view(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function integrityError(ctx: GcpErrorContext, what: string): KmsError {
  return new KmsError(
    'KMS_UNAVAILABLE',
    `${GCP_PROVIDER} ${ctx.operation} of ${ctx.keyRef}: integrity check failed (${what}), retryable`,
    { provider: GCP_PROVIDER, keyRef: ctx.keyRef, operation: ctx.operation },
  );
}

/**
 * Whether `name` is a CryptoKeyVersion of the key we asked for. Cloud KMS names the version it
 * used; a name under another key (a misrouted or tampered response) would mean the tenant key was
 * wrapped under a key that is not the customer's, so it is refused rather than stored.
 */
function isVersionOf(name: unknown, key: GcpKeyRef): name is string {
  const prefix = `${key.cryptoKeyName}/cryptoKeyVersions/`;
  return typeof name === 'string' && name.startsWith(prefix) && /^[0-9]+$/.test(name.slice(prefix.length));
}

function foreignVersionError(ctx: GcpErrorContext, name: unknown): KmsError {
  const shown = typeof name === 'string' && name.length > 0 ? name.slice(0, 300) : 'none';
  return new KmsError(
    'KMS_MISCONFIGURED',
    `${GCP_PROVIDER} ${ctx.operation} of ${ctx.keyRef}: the response names key version ${shown}, not a version of the requested key`,
    { provider: GCP_PROVIDER, keyRef: ctx.keyRef, operation: ctx.operation },
  );
}

// gax honours `signal` (gax >= 6.x cancels the HTTP request); the race also covers injected clients
// that ignore it, so an abort always settles the call at once.
function raceAbort<T>(p: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return p;
  if (signal.aborted) return Promise.reject(signal.reason ?? new DOMException('aborted', 'AbortError'));
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason ?? new DOMException('aborted', 'AbortError'));
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/**
 * Cloud KMS adapter. Encrypt/Decrypt go to the CryptoKey (primary version on encrypt, the version
 * named inside the ciphertext on decrypt). Every request and response is CRC32C-checked (see README).
 */
export function createGcpKmsProvider(opts: GcpKmsProviderOptions = {}): GcpKmsProvider {
  const owned =
    opts.client === undefined
      ? new KeyManagementServiceClient({
          fallback: opts.fallback ?? true,
          ...(opts.apiEndpoint !== undefined ? { apiEndpoint: opts.apiEndpoint } : {}),
          ...(opts.port !== undefined ? { port: opts.port } : {}),
          ...(opts.protocol !== undefined ? { protocol: opts.protocol } : {}),
          ...(opts.authClient !== undefined ? { authClient: opts.authClient } : {}),
        })
      : undefined;
  const client: GcpKmsClientSlice = opts.client ?? (owned as KeyManagementServiceClient);
  const defaultTimeout = opts.timeoutMs ?? 10_000;

  // gax retries are off: withResilience owns backoff, and a revocation must surface at once.
  function callOptions(o?: CallOptions): GaxCallOptions {
    const c: GaxCallOptions = { retry: null, timeout: o?.timeoutMs ?? defaultTimeout };
    if (o?.signal) c.signal = o.signal;
    return c;
  }

  async function call<T>(ctx: GcpErrorContext, o: CallOptions | undefined, fn: () => Promise<T>): Promise<T> {
    try {
      return await raceAbort(fn(), o?.signal);
    } catch (err) {
      throw mapGcpError(err, ctx);
    }
  }

  async function wrap(
    ref: KeyRef,
    plaintext: Uint8Array,
    ec: EncryptionContext,
    o?: CallOptions,
  ): Promise<WrapResult> {
    const key = gcpRef(ref, 'wrap');
    const ctx: GcpErrorContext = { keyRef: ref.uri, operation: 'wrap' };
    const aad = canonicalAad(ec);
    const [res] = await call(ctx, o, () =>
      client.encrypt(
        {
          name: key.cryptoKeyName,
          plaintext: view(plaintext),
          additionalAuthenticatedData: aad,
          plaintextCrc32c: { value: crc32cOf(plaintext) },
          additionalAuthenticatedDataCrc32c: { value: crc32cOf(aad) },
        },
        callOptions(o),
      ),
    );
    if (res.verifiedPlaintextCrc32c !== true)
      throw integrityError(ctx, 'plaintext checksum not verified by KMS');
    if (res.verifiedAdditionalAuthenticatedDataCrc32c !== true) {
      throw integrityError(ctx, 'AAD checksum not verified by KMS');
    }
    const wrapped = asBytes(res.ciphertext);
    if (!wrapped || !crc32cMatches(wrapped, res.ciphertextCrc32c))
      throw integrityError(ctx, 'ciphertext checksum');
    if (!isVersionOf(res.name, key)) throw foreignVersionError(ctx, res.name);
    return { wrapped: new Uint8Array(wrapped), keyVersion: res.name };
  }

  async function unwrap(
    ref: KeyRef,
    wrapped: Uint8Array,
    ec: EncryptionContext,
    o?: CallOptions,
  ): Promise<UnwrapResult> {
    const key = gcpRef(ref, 'unwrap');
    const ctx: GcpErrorContext = { keyRef: ref.uri, operation: 'unwrap' };
    const aad = canonicalAad(ec);
    const [res] = await call(ctx, o, () =>
      client.decrypt(
        {
          name: key.cryptoKeyName,
          ciphertext: view(wrapped),
          ciphertextCrc32c: { value: crc32cOf(wrapped) },
          additionalAuthenticatedData: aad,
          additionalAuthenticatedDataCrc32c: { value: crc32cOf(aad) },
        },
        callOptions(o),
      ),
    );
    const got = asBytes(res.plaintext);
    // Copy into memory the caller owns (and can zero); wipe the SDK's decoded buffer.
    const plaintext = new Uint8Array(got ?? new Uint8Array(0));
    const ok = got !== undefined && crc32cMatches(plaintext, res.plaintextCrc32c);
    got?.fill(0);
    if (!ok) {
      plaintext.fill(0);
      throw integrityError(ctx, 'plaintext checksum');
    }
    return { plaintext };
  }

  async function describe(ref: KeyRef, o?: CallOptions): Promise<KeyHealth> {
    const key = gcpRef(ref, 'describe');
    const ctx: GcpErrorContext = { keyRef: ref.uri, operation: 'describe' };
    let state: unknown;
    if (key.version !== undefined) {
      const name = `${key.cryptoKeyName}/cryptoKeyVersions/${key.version}`;
      const [v] = await call(ctx, o, () => client.getCryptoKeyVersion({ name }, callOptions(o)));
      if (v.name !== name) throw foreignVersionError(ctx, v.name);
      state = v.state;
    } else {
      const [k] = await call(ctx, o, () => client.getCryptoKey({ name: key.cryptoKeyName }, callOptions(o)));
      // A key without a primary version cannot encrypt: report it as disabled.
      if (!k.primary) return { state: 'disabled', detail: 'NO_PRIMARY_VERSION' };
      if (!isVersionOf(k.primary.name, key)) throw foreignVersionError(ctx, k.primary.name);
      state = k.primary.state;
    }
    const name = typeof state === 'number' ? (STATE_NUMBERS[state] ?? String(state)) : String(state);
    return { state: STATES[name] ?? 'unknown', detail: name };
  }

  return {
    name: GCP_PROVIDER,
    wrap,
    unwrap,
    describe,
    close: async () => {
      await owned?.close();
    },
  } satisfies GcpKmsProvider;
}
