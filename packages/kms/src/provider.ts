import type { KeyRef } from './key-ref.js';

/**
 * Encryption context bound to a wrap: the KMS refuses to unwrap under a different one.
 * AWS: EncryptionContext; GCP: additionalAuthenticatedData (canonical JSON); Azure has no AAD,
 * so the Azure adapter binds it itself (see its README).
 */
export type EncryptionContext = Readonly<Record<string, string>>;

/** Per-call options: every KMS call has a deadline. */
export interface CallOptions {
  /** Aborts the call; adapters pass it to the SDK. */
  signal?: AbortSignal;
  /** Deadline in milliseconds for this call (adapters default to their configured deadline). */
  timeoutMs?: number;
}

/** Result of a wrap: the opaque wrapped blob as the provider returned it. */
export interface WrapResult {
  wrapped: Uint8Array;
  /** The exact key version the provider used, where it says (GCP version name, Azure kid, AWS key ARN). */
  keyVersion?: string;
  requestId?: string;
}

/** Result of an unwrap. The caller owns `plaintext` and must zero it when done. */
export interface UnwrapResult {
  plaintext: Uint8Array;
  requestId?: string;
}

/** The narrow contract every KMS adapter implements (one package per cloud). */
export interface KmsProvider {
  /** The module name this provider was built by (`aws-kms`, `local`). */
  readonly name: string;
  /** Encrypts a data key (at most 64 bytes) under the customer key, bound to `ctx`. */
  wrap(ref: KeyRef, plaintext: Uint8Array, ctx: EncryptionContext, opts?: CallOptions): Promise<WrapResult>;
  /** Decrypts a blob made by {@link wrap} with the same `ref` and `ctx`. */
  unwrap(ref: KeyRef, wrapped: Uint8Array, ctx: EncryptionContext, opts?: CallOptions): Promise<UnwrapResult>;
}

/** Key state as the provider reports it, for the health probe. */
export type KeyState = 'enabled' | 'disabled' | 'pending-deletion' | 'destroyed' | 'unknown';

/** Result of {@link KeyHealthCapability.describe}. */
export interface KeyHealth {
  state: KeyState;
  /** Provider's own words for the state, e.g. `PendingDeletion`. */
  detail?: string;
  requestId?: string;
}

/** Optional capability: read a key's state without using it (DescribeKey / getKey / getCryptoKeyVersion). */
export interface KeyHealthCapability {
  describe(ref: KeyRef, opts?: CallOptions): Promise<KeyHealth>;
}

/** True when the provider also implements {@link KeyHealthCapability}. */
export function hasKeyHealth(p: KmsProvider): p is KmsProvider & KeyHealthCapability {
  return typeof (p as Partial<KeyHealthCapability>).describe === 'function';
}
