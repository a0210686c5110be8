import { z } from 'zod';
import { TenantId } from './common.js';
import {
  DecryptBatchRequest,
  DecryptBatchResponse,
  DecryptRequest,
  DecryptResponse,
  EncryptBatchRequest,
  EncryptBatchResponse,
  EncryptRequest,
  EncryptResponse,
} from './crypto.js';
import { defineOperation, KMS_ERRORS, TENANT_ERRORS } from './operation.js';

const params = z.object({ tenantId: TenantId });
const roles = ['service'] as const;
const decryptErrors = [...TENANT_ERRORS, ...KMS_ERRORS, 'INVALID_CIPHERTEXT', 'PURPOSE_NOT_ALLOWED'] as const;

/** Encrypt and decrypt, single and batch: the hot paths, so they come first in the contract. */
export const cryptoOperations = {
  encrypt: defineOperation({
    id: 'encrypt',
    method: 'post',
    path: '/v1/tenants/{tenantId}/encrypt',
    tag: 'crypto',
    summary: 'Encrypt a plaintext under the tenant key, bound to a context',
    roles,
    params,
    body: EncryptRequest,
    responses: { 200: { description: 'An envelope v1 ciphertext', schema: EncryptResponse } },
    errors: [...TENANT_ERRORS, ...KMS_ERRORS],
  }),
  decrypt: defineOperation({
    id: 'decrypt',
    method: 'post',
    path: '/v1/tenants/{tenantId}/decrypt',
    tag: 'crypto',
    summary: 'Decrypt a ciphertext (audited before the plaintext leaves)',
    roles,
    params,
    body: DecryptRequest,
    responses: { 200: { description: 'The plaintext', schema: DecryptResponse } },
    errors: decryptErrors,
  }),
  encryptBatch: defineOperation({
    id: 'encryptBatch',
    method: 'post',
    path: '/v1/tenants/{tenantId}/encrypt/batch',
    tag: 'crypto',
    summary: 'Encrypt up to 1000 plaintexts; results per item, in request order',
    roles,
    params,
    body: EncryptBatchRequest,
    responses: { 200: { description: 'Per-item results', schema: EncryptBatchResponse } },
    errors: [...TENANT_ERRORS, ...KMS_ERRORS],
  }),
  decryptBatch: defineOperation({
    id: 'decryptBatch',
    method: 'post',
    path: '/v1/tenants/{tenantId}/decrypt/batch',
    tag: 'crypto',
    summary: 'Decrypt up to 1000 ciphertexts under one purpose; results per item',
    roles,
    params,
    body: DecryptBatchRequest,
    responses: { 200: { description: 'Per-item results', schema: DecryptBatchResponse } },
    errors: decryptErrors,
  }),
};
