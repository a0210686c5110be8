export * from './azure-key-vault-emulator.js';
export { AZURE_WRAP_ALGORITHMS, type AzureEmulatorKty } from './azure-key-store.js';
export type { AzureEmulatorOp } from './azure-key-routes.js';
export type { AzureEmulatorClient } from './azure-token-authority.js';
export { createTestCertificates, type TestCertificates } from './test-ca.js';
