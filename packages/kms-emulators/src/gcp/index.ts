export {
  GCP_EMULATOR_ACCESS_TOKEN,
  startGcpKmsEmulator,
  type GcpEmulatorKey,
  type GcpKmsEmulator,
  type GcpKmsEmulatorOptions,
  type GcpResponseCorruption,
} from './gcp-kms-emulator.js';
export type { GcpVersionState } from './gcp-kms-store.js';
export type { GcpKmsOperation } from './gcp-rest-api.js';
export { GcpStatusError, type GcpStatus } from './gcp-status-error.js';
