export * from './egress-guard.js';
