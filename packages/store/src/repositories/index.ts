export type { Db } from './db.js';
export * from './secret-repository.js';
export * from './tenant-key-repository.js';
export * from './tenant-repository.js';
export * from './token-repository.js';
export * from './job-repository.js';
export * from './audit-sink-repository.js';
export * from './audit-key-repository.js';
export * from './secret-ai-repository.js';
