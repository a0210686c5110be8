import { z } from 'zod';
import { TenantId } from './common.js';
import { AUTHENTICATED_ERRORS, defineOperation, TENANT_ERRORS } from './operation.js';
import { CreateTokenRequest, CreateTokenResponse, TokenId, TokenList } from './tenants.js';

const admins = ['tenant-admin', 'platform-admin'] as const;

/** Issuing, listing and revoking bearer tokens. */
export const tokenOperations = {
  createToken: defineOperation({
    id: 'createToken',
    method: 'post',
    path: '/v1/tokens',
    tag: 'tokens',
    summary: 'Issue a token (its value is shown once); tenant admins for their own tenant',
    roles: admins,
    body: CreateTokenRequest,
    responses: { 201: { description: 'The token, shown once', schema: CreateTokenResponse } },
    errors: [...AUTHENTICATED_ERRORS, 'NOT_FOUND'],
  }),
  listTokens: defineOperation({
    id: 'listTokens',
    method: 'get',
    path: '/v1/tenants/{tenantId}/tokens',
    tag: 'tokens',
    summary: "The tenant's tokens (metadata, never values)",
    roles: admins,
    params: z.object({ tenantId: TenantId }),
    responses: { 200: { description: 'Token metadata', schema: TokenList } },
    errors: TENANT_ERRORS,
  }),
  revokeToken: defineOperation({
    id: 'revokeToken',
    method: 'delete',
    path: '/v1/tenants/{tenantId}/tokens/{tokenId}',
    tag: 'tokens',
    summary: 'Revoke a token on every instance',
    roles: admins,
    params: z.object({ tenantId: TenantId, tokenId: TokenId }),
    responses: { 204: { description: 'Revoked' } },
    errors: TENANT_ERRORS,
  }),
};
