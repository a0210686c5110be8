export * from './ai-fake-server.js';
export * from './wire-formats.js';
