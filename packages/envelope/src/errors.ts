/** Stable codes of every error this package throws. */
export type EnvelopeErrorCode = 'INVALID_CIPHERTEXT' | 'INVALID_CONTEXT' | 'INVALID_KEY' | 'INVALID_ARGUMENT';

/** Base class of every error this package throws; `code` is stable and safe to show to clients. */
export class EnvelopeError extends Error {
  override readonly name: string = 'EnvelopeError';
  readonly code: EnvelopeErrorCode;

  constructor(code: EnvelopeErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/**
 * The ciphertext is malformed, truncated, tampered with, of an unknown version, or does not belong to
 * this tenant, context or key. One error for every case, so callers (and attackers) learn nothing more.
 */
export class InvalidCiphertextError extends EnvelopeError {
  override readonly name = 'InvalidCiphertextError';
  declare readonly code: 'INVALID_CIPHERTEXT';
  constructor() {
    super('INVALID_CIPHERTEXT', 'Ciphertext is invalid or does not belong to this tenant, context or key');
  }
}

/** The caller's encryption context is not a small object of non-empty keys and string values. */
export class InvalidContextError extends EnvelopeError {
  override readonly name = 'InvalidContextError';
  declare readonly code: 'INVALID_CONTEXT';
  constructor(reason: string) {
    super('INVALID_CONTEXT', `Invalid encryption context: ${reason}`);
  }
}

/** A tenant key (or AEAD key) does not have the required length. Never carries key bytes. */
export class InvalidKeyError extends EnvelopeError {
  override readonly name = 'InvalidKeyError';
  declare readonly code: 'INVALID_KEY';
  constructor(reason: string) {
    super('INVALID_KEY', reason);
  }
}

/** A caller-supplied parameter other than key or context is out of range (tenant id, key version, IV). */
export class InvalidArgumentError extends EnvelopeError {
  override readonly name = 'InvalidArgumentError';
  declare readonly code: 'INVALID_ARGUMENT';
  constructor(reason: string) {
    super('INVALID_ARGUMENT', reason);
  }
}

/** Throws `makeError(rule)` unless `condition` holds; `rule` states the precondition as a sentence. */
export function needs(
  condition: unknown,
  rule: string,
  makeError: (rule: string) => EnvelopeError = (r) => new InvalidArgumentError(r),
): asserts condition {
  if (!condition) throw makeError(rule);
}
