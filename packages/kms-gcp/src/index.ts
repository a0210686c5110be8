export { crc32cMatches, crc32cOf, int64ToNumber } from './crc32c-checksum.js';
export { GcpKmsCallError, gcpStatusOf, mapGcpError, type GcpErrorContext } from './gcp-error-mapper.js';
export * from './gcp-key-ref.js';
export * from './gcp-kms-module.js';
export * from './gcp-onboarding.js';
export {
  canonicalAad,
  createGcpKmsProvider,
  type GcpKmsClientSlice,
  type GcpKmsProvider,
  type GcpKmsProviderOptions,
} from './gcp-kms-provider.js';
