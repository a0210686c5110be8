export * from './azure-key-vault-provider.js';
export * from './azure-credential.js';
export * from './azure-key-ref.js';
export * from './azure-key-vault-module.js';
export * from './azure-onboarding.js';
export { mapAzureError, parseRetryAfter } from './azure-error-mapper.js';
export { bindContext, canonicalContext, unbindContext, DATA_KEY_BYTES } from './context-binding.js';
export { AZURE_BLOB_V1, decodeAzureBlob, encodeAzureBlob, type AzureWrappedBlob } from './wrapped-blob.js';
export { egressHttpClient, type EgressHttpClientOptions } from './egress-http-client.js';
