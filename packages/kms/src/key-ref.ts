import { InvalidKeyRefError, KmsError } from './errors.js';
import type { KeyRefBase } from './provider-module.js';

/** A parsed customer key reference as the service handles it; each module's own type extends it. */
export type KeyRef = KeyRefBase;

/** What a provider module name looks like (`aws-kms`, `pkcs11`): the contract accepts the same shape. */
export const PROVIDER_NAME_PATTERN = /^[a-z][a-z0-9-]{0,31}$/;

/** Longest key reference any provider accepts. */
export const MAX_KEY_REF_LENGTH = 2048;

/**
 * The checks every key reference passes before its module parses it: a non-empty string of at
 * most {@link MAX_KEY_REF_LENGTH} characters without surrounding spaces.
 */
export function checkKeyRefInput(provider: string, input: unknown): asserts input is string {
  if (
    typeof input !== 'string' ||
    input.length === 0 ||
    input.length > MAX_KEY_REF_LENGTH ||
    input.trim() !== input
  ) {
    throw new InvalidKeyRefError(
      provider,
      String(input).slice(0, 64),
      'must be a non-empty string without surrounding spaces',
    );
  }
}

/**
 * Narrows `ref` to the reference type of `provider`; a reference of another provider reaching an
 * adapter is a wiring bug, reported as KMS_MISCONFIGURED naming the operation.
 */
export function ownKeyRef<R extends KeyRefBase>(provider: string, ref: KeyRefBase, operation: string): R {
  if (ref.provider !== provider) {
    throw new KmsError('KMS_MISCONFIGURED', `${provider} cannot use a ${ref.provider} key reference`, {
      provider,
      keyRef: ref.uri,
      operation,
    });
  }
  return ref as R;
}
