export * from './local-key-store.js';
export * from './local-kms-provider.js';
