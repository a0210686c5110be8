export * from './store-errors.js';
export * from './store-types.js';
export * from './pool.js';
export * from './transaction.js';
export * from './migrate.js';
export * from './repositories/index.js';
export * from './channel-listener.js';
