import {
  DecryptCommand,
  DescribeKeyCommand,
  EncryptCommand,
  KMSClient,
  type KMSClientConfig,
  type KeyState as AwsKeyState,
} from '@aws-sdk/client-kms';
import {
  ownKeyRef,
  type CallOptions,
  type EncryptionContext,
  type KeyHealth,
  type KeyHealthCapability,
  type KeyRef,
  type KeyState,
  KmsError,
  type KmsProvider,
  type UnwrapResult,
  type WrapResult,
} from '@byok/kms';
import { awsRequestId, mapAwsError } from './aws-error-mapper.js';
import { AWS_PROVIDER, type AwsKeyRef } from './aws-key-ref.js';

/** The slice of the SDK client the adapter calls (inject a fake or a configured client). */
export type KmsSend = Pick<KMSClient, 'send'>;

/** Static keys or a credential provider, as `KMSClient` takes them. */
export type AwsCredentials = NonNullable<KMSClientConfig['credentials']>;

/** Options for {@link createAwsKmsProvider}. */
export interface AwsKmsProviderOptions {
  /** Region for references that do not name one; key ARNs always name theirs. */
  region?: string;
  /** Custom endpoint (the emulator or a VPC endpoint); one endpoint serves every region. */
  endpoint?: string;
  /** Explicit credentials; omit in production so the SDK's default provider chain is used. */
  credentials?: AwsCredentials;
  /** A ready client used for every region instead of building one per region. */
  client?: KmsSend;
  /** SDK attempts per call; default 1, because `withResilience` owns retries and backoff. */
  maxSdkAttempts?: number;
}

/** The AWS KMS adapter: wrap/unwrap, key health, and shutdown of its clients. */
export type AwsKmsProvider = KmsProvider &
  KeyHealthCapability & {
    /** Closes the sockets of the clients it created (an injected client is left alone). */
    destroy(): void;
  };

const STATES: Readonly<Record<string, KeyState>> = {
  Enabled: 'enabled',
  Disabled: 'disabled',
  PendingDeletion: 'pending-deletion',
  PendingReplicaDeletion: 'pending-deletion',
  // No key material yet, or its custom key store is disconnected: unusable, like a disabled key.
  PendingImport: 'disabled',
  Unavailable: 'disabled',
  Creating: 'unknown',
  Updating: 'unknown',
} satisfies Partial<Record<AwsKeyState, KeyState>>;

function callSignal(opts: CallOptions | undefined): AbortSignal | undefined {
  const signals = [opts?.signal, opts?.timeoutMs ? AbortSignal.timeout(opts.timeoutMs) : undefined].filter(
    (s): s is AbortSignal => s !== undefined,
  );
  if (signals.length <= 1) return signals[0];
  return AbortSignal.any(signals);
}

/**
 * Creates the AWS KMS provider. Wrap is `Encrypt` of the caller's data key and unwrap is `Decrypt`,
 * both naming the key ARN and sending the context as `EncryptionContext`, so CloudTrail shows
 * tenant, purpose and version. One client per region, made on first use, with SDK retries off.
 */
export function createAwsKmsProvider(options: AwsKmsProviderOptions = {}): AwsKmsProvider {
  const clients = new Map<string, KMSClient>();

  function clientFor(ref: AwsKeyRef): KmsSend {
    if (options.client) return options.client;
    const region = ref.region || options.region;
    if (!region) {
      throw new KmsError('KMS_MISCONFIGURED', `aws-kms: no region for ${ref.uri}`, {
        provider: 'aws-kms',
        keyRef: ref.uri,
      });
    }
    let client = clients.get(region);
    if (client === undefined) {
      const config: KMSClientConfig = { region, maxAttempts: options.maxSdkAttempts ?? 1 };
      if (options.endpoint) config.endpoint = options.endpoint;
      if (options.credentials) config.credentials = options.credentials;
      client = new KMSClient(config);
      clients.set(region, client);
    }
    return client;
  }

  const awsRef = (ref: KeyRef, operation: string) => ownKeyRef<AwsKeyRef>(AWS_PROVIDER, ref, operation);

  return {
    name: AWS_PROVIDER,

    async wrap(
      ref: KeyRef,
      plaintext: Uint8Array,
      ctx: EncryptionContext,
      opts?: CallOptions,
    ): Promise<WrapResult> {
      const r = awsRef(ref, 'wrap');
      try {
        const out = await clientFor(r).send(
          new EncryptCommand({ KeyId: r.uri, Plaintext: plaintext, EncryptionContext: { ...ctx } }),
          { abortSignal: callSignal(opts) },
        );
        if (!out.CiphertextBlob) throw new Error('Encrypt returned no CiphertextBlob');
        return { wrapped: out.CiphertextBlob, keyVersion: out.KeyId, requestId: awsRequestId(out) };
      } catch (err) {
        throw mapAwsError(err, { keyRef: r.uri, operation: 'wrap' });
      }
    },

    async unwrap(
      ref: KeyRef,
      wrapped: Uint8Array,
      ctx: EncryptionContext,
      opts?: CallOptions,
    ): Promise<UnwrapResult> {
      const r = awsRef(ref, 'unwrap');
      try {
        const out = await clientFor(r).send(
          new DecryptCommand({ KeyId: r.uri, CiphertextBlob: wrapped, EncryptionContext: { ...ctx } }),
          { abortSignal: callSignal(opts) },
        );
        if (!out.Plaintext) throw new Error('Decrypt returned no Plaintext');
        return { plaintext: out.Plaintext, requestId: awsRequestId(out) };
      } catch (err) {
        throw mapAwsError(err, { keyRef: r.uri, operation: 'unwrap' });
      }
    },

    async describe(ref: KeyRef, opts?: CallOptions): Promise<KeyHealth> {
      const r = awsRef(ref, 'describe');
      try {
        const out = await clientFor(r).send(new DescribeKeyCommand({ KeyId: r.uri }), {
          abortSignal: callSignal(opts),
        });
        const raw = out.KeyMetadata?.KeyState ?? 'unknown';
        return { state: STATES[raw] ?? 'unknown', detail: raw, requestId: awsRequestId(out) };
      } catch (err) {
        throw mapAwsError(err, { keyRef: r.uri, operation: 'describe' });
      }
    },

    destroy(): void {
      for (const c of clients.values()) c.destroy();
      clients.clear();
    },
  } satisfies AwsKmsProvider;
}
