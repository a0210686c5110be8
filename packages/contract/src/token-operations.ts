import { z } from 'zod';
import { TenantId } from './common.js';
import { AUTHENTICATED_ERRORS, defineOperation, TENANT_ERRORS } from './operation.js';
import {
  CreateTokenRequest,
  CreateTokenResponse,
  RotateTokenRequest,
  RotateTokenResponse,
  TokenId,
  TokenList,
} from './tenants.js';

const admins = ['tenant-admin', 'platform-admin'] as const;

/** Issuing, listing, rotating and revoking bearer tokens. */
export const tokenOperations = {
  createToken: defineOperation({
    id: 'createToken',
    method: 'post',
    path: '/v1/tokens',
    tag: 'tokens',
    summary:
      'Issue a token (its value is shown once). Platform admins issue any kind; tenant admins only tenant-admin and auditor tokens of their tenant; never for a locked tenant',
    roles: admins,
    body: CreateTokenRequest,
    responses: { 201: { description: 'The token, shown once', schema: CreateTokenResponse } },
    errors: [...AUTHENTICATED_ERRORS, 'NOT_FOUND', 'TENANT_LOCKED'],
  }),
  rotateToken: defineOperation({
    id: 'rotateToken',
    method: 'post',
    path: '/v1/tokens/{tokenId}/rotate',
    tag: 'tokens',
    summary:
      'Rotate a token: a new one now, the old one working until the overlap ends (a token may rotate itself)',
    roles: ['platform-admin', 'tenant-admin', 'service', 'auditor'],
    params: z.object({ tokenId: TokenId }),
    body: RotateTokenRequest,
    responses: { 201: { description: 'The new token, shown once', schema: RotateTokenResponse } },
    errors: [...AUTHENTICATED_ERRORS, 'NOT_FOUND', 'TENANT_LOCKED'],
  }),
  listPlatformTokens: defineOperation({
    id: 'listPlatformTokens',
    method: 'get',
    path: '/v1/tokens',
    tag: 'tokens',
    summary: 'Platform-level tokens: platform admins and global auditors (metadata, never values)',
    roles: ['platform-admin'],
    responses: { 200: { description: 'Token metadata', schema: TokenList } },
    errors: AUTHENTICATED_ERRORS,
  }),
  revokePlatformToken: defineOperation({
    id: 'revokePlatformToken',
    method: 'delete',
    path: '/v1/tokens/{tokenId}',
    tag: 'tokens',
    summary: 'Revoke a platform-level token on every instance (not the last platform admin)',
    roles: ['platform-admin'],
    params: z.object({ tokenId: TokenId }),
    responses: { 204: { description: 'Revoked' } },
    errors: [...AUTHENTICATED_ERRORS, 'NOT_FOUND', 'CONFLICT'],
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
    summary: 'Revoke a token of the tenant on every instance',
    roles: admins,
    params: z.object({ tenantId: TenantId, tokenId: TokenId }),
    responses: { 204: { description: 'Revoked' } },
    errors: TENANT_ERRORS,
  }),
};
