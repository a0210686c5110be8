import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { KmsError } from '../errors.js';
import { ownKeyRef, type KeyRef } from '../key-ref.js';
import type {
  CallOptions,
  EncryptionContext,
  KeyHealth,
  KeyHealthCapability,
  KmsProvider,
  UnwrapResult,
  WrapResult,
} from '../provider.js';
import type { LocalKeyRecord, LocalKeyStore } from './local-key-store.js';
import { LOCAL_PROVIDER, type LocalKeyRef } from './local-key-ref.js';

/** Options for {@link createLocalKmsProvider}. */
export interface LocalKmsProviderOptions {
  /** Where the development keys live. */
  store: LocalKeyStore;
  /** Set from the service's environment; `true` makes construction fail, by design. */
  production?: boolean;
}

/** The local provider: a KmsProvider with key health, for development only. */
export type LocalKmsProvider = KmsProvider & KeyHealthCapability;

// Providers made here, with their stores: lets the service find the dev key store without a name check.
const STORES = new WeakMap<KmsProvider, LocalKeyStore>();

/** The key store behind `provider` when it is a local provider made by {@link createLocalKmsProvider}. */
export function localKeyStoreOf(provider: KmsProvider): LocalKeyStore | undefined {
  return STORES.get(provider);
}

/** Blob layout version 1: `0x01 | sha256(key id)[0..16] | iv(12) | ciphertext | tag(16)`. */
const BLOB_VERSION = 0x01;
const KEY_HASH_BYTES = 16;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const HEADER_BYTES = 1 + KEY_HASH_BYTES + IV_BYTES;
const MAX_PLAINTEXT = 64;

/** Sorted-key JSON of the context: the same context always gives the same AAD bytes. */
function canonicalJson(ctx: EncryptionContext): string {
  const keys = Object.keys(ctx).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${JSON.stringify(ctx[k])}`).join(',')}}`;
}

function keyHash(id: string): Buffer {
  return createHash('sha256').update(`byok-local-key:${id}`).digest().subarray(0, KEY_HASH_BYTES);
}

// The whole header is in the AAD, so a blob cannot be re-labelled with another key or version.
function aad(header: Buffer, ctx: EncryptionContext): Buffer {
  return Buffer.concat([header, Buffer.from(canonicalJson(ctx), 'utf8')]);
}

/**
 * Creates the development-only local KMS provider: AES-256-GCM under keys from `store`, with the
 * encryption context as AAD. It refuses to start when `production` is true, because its keys
 * sit next to the data they protect and so give none of BYOK's guarantees.
 */
export function createLocalKmsProvider(options: LocalKmsProviderOptions): LocalKmsProvider {
  if (options.production === true) {
    throw new KmsError('KMS_MISCONFIGURED', 'local: keys are development-only', { provider: 'local' });
  }
  const { store } = options;

  const localRef = (ref: KeyRef, operation: string) => ownKeyRef<LocalKeyRef>(LOCAL_PROVIDER, ref, operation);

  async function usableKey(ref: LocalKeyRef, operation: string): Promise<LocalKeyRecord> {
    const key = await store.get(ref.name);
    const details = { provider: 'local', keyRef: ref.uri, operation };
    if (!key)
      throw new KmsError('KEY_NOT_FOUND', `local ${operation}: key ${ref.uri} does not exist`, details);
    if (!key.enabled)
      throw new KmsError('KEY_REVOKED', `local ${operation}: key ${ref.uri} is disabled`, details);
    return key;
  }

  function checkSignal(opts: CallOptions | undefined, ref: KeyRef, operation: string): void {
    if (opts?.signal?.aborted) {
      throw new KmsError('KMS_UNAVAILABLE', `local ${operation} of ${ref.uri} was aborted`, {
        provider: 'local',
        keyRef: ref.uri,
        operation,
      });
    }
  }

  const provider: LocalKmsProvider = {
    name: LOCAL_PROVIDER,

    async wrap(
      ref: KeyRef,
      plaintext: Uint8Array,
      ctx: EncryptionContext,
      opts?: CallOptions,
    ): Promise<WrapResult> {
      const r = localRef(ref, 'wrap');
      checkSignal(opts, ref, 'wrap');
      if (plaintext.byteLength < 1 || plaintext.byteLength > MAX_PLAINTEXT) {
        throw new KmsError('KMS_MISCONFIGURED', `local wrap: data key must be 1-${MAX_PLAINTEXT} bytes`, {
          provider: 'local',
          keyRef: ref.uri,
          operation: 'wrap',
        });
      }
      const key = await usableKey(r, 'wrap');
      const header = Buffer.concat([Buffer.of(BLOB_VERSION), keyHash(key.id), randomBytes(IV_BYTES)]);
      const cipher = createCipheriv('aes-256-gcm', key.material, header.subarray(1 + KEY_HASH_BYTES), {
        authTagLength: TAG_BYTES,
      });
      cipher.setAAD(aad(header, ctx));
      const ct = Buffer.concat([cipher.update(plaintext), cipher.final()]);
      key.material.fill(0);
      return {
        wrapped: Buffer.concat([header, ct, cipher.getAuthTag()]),
        keyVersion: `${ref.uri}#${key.id}`,
      };
    },

    async unwrap(
      ref: KeyRef,
      wrapped: Uint8Array,
      ctx: EncryptionContext,
      opts?: CallOptions,
    ): Promise<UnwrapResult> {
      const r = localRef(ref, 'unwrap');
      checkSignal(opts, ref, 'unwrap');
      const key = await usableKey(r, 'unwrap');
      const blob = Buffer.from(wrapped);
      const invalid = (why: string): KmsError =>
        new KmsError('INVALID_CIPHERTEXT', `local unwrap with ${ref.uri}: ${why}`, {
          provider: 'local',
          keyRef: ref.uri,
          operation: 'unwrap',
        });
      try {
        if (blob.length < HEADER_BYTES + TAG_BYTES + 1 || blob[0] !== BLOB_VERSION) {
          throw invalid('not a local wrapped key');
        }
        const header = blob.subarray(0, HEADER_BYTES);
        if (!header.subarray(1, 1 + KEY_HASH_BYTES).equals(keyHash(key.id))) {
          throw invalid('blob was wrapped by another key');
        }
        const decipher = createDecipheriv('aes-256-gcm', key.material, header.subarray(1 + KEY_HASH_BYTES), {
          authTagLength: TAG_BYTES,
        });
        decipher.setAAD(aad(header, ctx));
        decipher.setAuthTag(blob.subarray(blob.length - TAG_BYTES));
        try {
          const plaintext = Buffer.concat([
            decipher.update(blob.subarray(HEADER_BYTES, blob.length - TAG_BYTES)),
            decipher.final(),
          ]);
          return { plaintext };
        } catch (err) {
          throw new KmsError(
            'INVALID_CIPHERTEXT',
            `local unwrap with ${ref.uri}: blob is corrupted or the encryption context differs`,
            { provider: 'local', keyRef: ref.uri, operation: 'unwrap', cause: err },
          );
        }
      } finally {
        key.material.fill(0);
      }
    },

    async describe(ref: KeyRef, opts?: CallOptions): Promise<KeyHealth> {
      const r = localRef(ref, 'describe');
      checkSignal(opts, ref, 'describe');
      const key = await store.get(r.name);
      if (!key) {
        throw new KmsError('KEY_NOT_FOUND', `local describe: key ${ref.uri} does not exist`, {
          provider: 'local',
          keyRef: ref.uri,
          operation: 'describe',
        });
      }
      key.material.fill(0);
      return key.enabled
        ? { state: 'enabled', detail: 'Enabled' }
        : { state: 'disabled', detail: 'Disabled' };
    },
  };
  STORES.set(provider, store);
  return provider;
}
