export * from './errors.js';
export * from './key-ref.js';
export * from './provider.js';
export * from './registry.js';
export * from './resilience.js';
export * from './local/index.js';
export * from './provider-module.js';
