export * from './audit.js';
export * from './common.js';
export * from './crypto.js';
export * from './problem.js';
export * from './secrets.js';
export * from './tenants.js';
