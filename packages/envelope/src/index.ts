export { AES_KEY_BYTES, GCM_IV_BYTES, GCM_TAG_BYTES } from './aes-gcm.js';
export {
  canonicalContext,
  CONTEXT_KEY_PATTERN,
  MAX_CONTEXT_BYTES,
  MAX_CONTEXT_KEYS,
  type Context,
  type ContextKeyRule,
} from './canonical-context.js';
export { generateTenantKey, TENANT_KEY_BYTES, zeroize } from './envelope.js';
export type { OpenParams, SealParams } from './envelope.js';
export {
  EnvelopeError,
  InvalidArgumentError,
  InvalidCiphertextError,
  InvalidContextError,
  InvalidKeyError,
  type EnvelopeErrorCode,
} from './errors.js';
export { FORMAT_V1, MAX_TENANT_ID_BYTES, readHeader, type Header } from './format-v1.js';
export {
  aesGcm,
  envelopeBackend,
  open,
  seal,
  useEnvelopeBackend,
  type EnvelopeBackendInfo,
  type EnvelopeBackendName,
} from './active-backend.js';
