export * from './audit-errors.js';
export * from './audit-event.js';
export * from './hash-chain.js';
export * from './audit-writer.js';
export * from './verify-chain.js';
export * from './query-events.js';
