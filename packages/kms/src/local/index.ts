export * from './local-key-ref.js';
export * from './local-key-store.js';
export * from './local-kms-module.js';
export * from './local-kms-provider.js';
