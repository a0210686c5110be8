import { z } from 'zod';
import { TenantId } from './common.js';
import { defineOperation, TENANT_ERRORS } from './operation.js';
import { PutTenantRateLimitRequest, TenantRateLimitResponse } from './tenants.js';

const params = z.object({ tenantId: TenantId });

/** Per-tenant rate-limit overrides: set by the platform admin, readable by the tenant's admins. */
export const rateLimitOperations = {
  getTenantRateLimit: defineOperation({
    id: 'getTenantRateLimit',
    method: 'get',
    path: '/v1/tenants/{tenantId}/rate-limit',
    tag: 'tenants',
    summary: "Read the tenant's effective rate limit (override or default)",
    roles: ['platform-admin', 'tenant-admin'],
    params,
    responses: { 200: { description: 'The effective limit', schema: TenantRateLimitResponse } },
    errors: TENANT_ERRORS,
  }),
  putTenantRateLimit: defineOperation({
    id: 'putTenantRateLimit',
    method: 'put',
    path: '/v1/tenants/{tenantId}/rate-limit',
    tag: 'tenants',
    summary: "Override the tenant's rate limit on every instance (platform admin)",
    roles: ['platform-admin'],
    params,
    body: PutTenantRateLimitRequest,
    responses: { 200: { description: 'The effective limit', schema: TenantRateLimitResponse } },
    errors: TENANT_ERRORS,
  }),
  clearTenantRateLimit: defineOperation({
    id: 'clearTenantRateLimit',
    method: 'delete',
    path: '/v1/tenants/{tenantId}/rate-limit',
    tag: 'tenants',
    summary: "Clear the tenant's override: the service default applies again",
    roles: ['platform-admin'],
    params,
    responses: { 200: { description: 'The effective limit', schema: TenantRateLimitResponse } },
    errors: TENANT_ERRORS,
  }),
};
