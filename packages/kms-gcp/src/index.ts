export { crc32cMatches, crc32cOf, int64ToNumber } from './crc32c-checksum.js';
export {
  GCP_PROVIDER,
  GcpKmsCallError,
  gcpStatusOf,
  mapGcpError,
  type GcpErrorContext,
} from './gcp-error-mapper.js';
export {
  canonicalAad,
  createGcpKmsProvider,
  type GcpKmsClientSlice,
  type GcpKmsProvider,
  type GcpKmsProviderOptions,
} from './gcp-kms-provider.js';
