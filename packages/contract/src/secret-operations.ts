import { z } from 'zod';
import { TenantId } from './common.js';
import { defineOperation, KMS_ERRORS, TENANT_ERRORS } from './operation.js';
import {
  PutSecretRequest,
  RevealRequest,
  RevealResponse,
  SecretList,
  SecretListQuery,
  SecretMetadata,
  SecretName,
} from './secrets.js';

const tenant = z.object({ tenantId: TenantId });
const secret = z.object({ tenantId: TenantId, name: SecretName });
const keepers = ['service', 'tenant-admin'] as const;

/** Tenant secrets (AI provider API keys first): put, list, get, reveal, delete. */
export const secretOperations = {
  putSecret: defineOperation({
    id: 'putSecret',
    method: 'put',
    path: '/v1/tenants/{tenantId}/secrets/{name}',
    tag: 'secrets',
    summary:
      'Store a new version of a secret (format-checked per kind; AI keys optionally checked with the provider first, `validate: true`; kind azure-openai takes its resource `endpoint`)',
    roles: keepers,
    params: secret,
    body: PutSecretRequest,
    responses: {
      200: { description: 'A new version of an existing secret', schema: SecretMetadata },
      201: { description: 'The first version of a new secret', schema: SecretMetadata },
    },
    errors: [
      ...TENANT_ERRORS,
      ...KMS_ERRORS,
      'CONFLICT',
      'AI_KEY_INVALID',
      'AI_UPSTREAM_UNAVAILABLE',
      'AI_UPSTREAM_TIMEOUT',
    ],
  }),
  listSecrets: defineOperation({
    id: 'listSecrets',
    method: 'get',
    path: '/v1/tenants/{tenantId}/secrets',
    tag: 'secrets',
    summary: 'One page of secret metadata (masked hint, keyed fingerprint; never values)',
    roles: keepers,
    params: tenant,
    query: SecretListQuery,
    responses: { 200: { description: 'A page of metadata', schema: SecretList } },
    errors: TENANT_ERRORS,
  }),
  getSecret: defineOperation({
    id: 'getSecret',
    method: 'get',
    path: '/v1/tenants/{tenantId}/secrets/{name}',
    tag: 'secrets',
    summary: 'Metadata of one secret',
    roles: keepers,
    params: secret,
    responses: { 200: { description: 'The metadata', schema: SecretMetadata } },
    errors: TENANT_ERRORS,
  }),
  revealSecret: defineOperation({
    id: 'revealSecret',
    method: 'post',
    path: '/v1/tenants/{tenantId}/secrets/{name}/reveal',
    tag: 'secrets',
    summary: 'The value of a secret (current or a given version), audited with its purpose',
    roles: ['service'],
    params: secret,
    body: RevealRequest.optional(),
    responses: { 200: { description: 'The value', schema: RevealResponse } },
    errors: [...TENANT_ERRORS, ...KMS_ERRORS, 'INVALID_CIPHERTEXT', 'PURPOSE_NOT_ALLOWED'],
  }),
  deleteSecret: defineOperation({
    id: 'deleteSecret',
    method: 'delete',
    path: '/v1/tenants/{tenantId}/secrets/{name}',
    tag: 'secrets',
    summary: 'Delete a secret: every version becomes unreadable',
    roles: keepers,
    params: secret,
    responses: { 204: { description: 'Deleted' } },
    errors: TENANT_ERRORS,
  }),
};
