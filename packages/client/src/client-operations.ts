import type { OperationId } from '@byok/contract';
import type { ByokClient } from './byok-client.js';

/**
 * Which contract operation each client method calls. The contract operations missing here are
 * the ones it excludes from the client, with the reason (`clientExclusion`); a test checks both.
 */
export const CLIENT_OPERATIONS = {
  health: 'healthz',
  ready: 'readyz',
  createTenant: 'createTenant',
  getTenant: 'getTenant',
  lockTenant: 'lockTenant',
  restoreTenant: 'restoreTenant',
  deleteTenant: 'deleteTenant',
  putCmk: 'putCmk',
  getCmk: 'getCmk',
  getCmkPolicy: 'getCmkPolicy',
  getPolicy: 'getPolicy',
  putPolicy: 'putPolicy',
  rotateTenantKey: 'rotateTenantKey',
  retireTenantKeys: 'retireTenantKeys',
  getJob: 'getJob',
  createToken: 'createToken',
  listTokens: 'listTokens',
  revokeToken: 'revokeToken',
  encrypt: 'encrypt',
  decrypt: 'decrypt',
  encryptBatch: 'encryptBatch',
  decryptBatch: 'decryptBatch',
  putSecret: 'putSecret',
  listSecrets: 'listSecrets',
  getSecret: 'getSecret',
  revealSecret: 'revealSecret',
  deleteSecret: 'deleteSecret',
  queryAudit: 'queryAudit',
  verifyAudit: 'verifyAudit',
  exportAudit: 'exportAudit',
  getAuditPublicKey: 'getAuditPublicKey',
  listAuditPublicKeys: 'listAuditPublicKeys',
  createCheckpoint: 'createCheckpoint',
  listCheckpoints: 'listCheckpoints',
  listKmsCalls: 'listKmsCalls',
  createAuditSink: 'createAuditSink',
  listAuditSinks: 'listAuditSinks',
  getAuditSink: 'getAuditSink',
  disableAuditSink: 'disableAuditSink',
} as const satisfies Partial<Record<keyof ByokClient, OperationId>>;
