import { z } from 'zod';
import { TenantId } from './common.js';
import { defineOperation, TENANT_ERRORS } from './operation.js';
import { SecretName } from './secrets.js';
import { Budget, BudgetList, BudgetPeriodQuery, PutBudgetRequest, UsageQuery, UsageReport } from './usage.js';

const tenant = z.object({ tenantId: TenantId });
const secret = z.object({ tenantId: TenantId, name: SecretName });
// Costs are tenant data but no secret: the tenant's admins and the platform's (billing, operations) read them;
// only the tenant's admins set its caps, as they set its policy.
const readers = ['tenant-admin', 'platform-admin'] as const;
const writers = ['tenant-admin'] as const;

/** AI usage and costs (the cost dashboard's data) and spend caps. */
export const usageOperations = {
  getAiUsage: defineOperation({
    id: 'getAiUsage',
    method: 'get',
    path: '/v1/tenants/{tenantId}/usage',
    tag: 'ai-usage',
    summary: 'AI calls, tokens and cost per UTC day, model or secret between two days (inclusive)',
    roles: readers,
    params: tenant,
    query: UsageQuery,
    responses: { 200: { description: 'The usage report', schema: UsageReport } },
    errors: TENANT_ERRORS,
  }),
  listAiBudgets: defineOperation({
    id: 'listAiBudgets',
    method: 'get',
    path: '/v1/tenants/{tenantId}/ai/budgets',
    tag: 'ai-usage',
    summary: "The tenant's AI spend caps (tenant-wide and per secret) with the current window's spend",
    roles: readers,
    params: tenant,
    responses: { 200: { description: 'The caps', schema: BudgetList } },
    errors: TENANT_ERRORS,
  }),
  putTenantAiBudget: defineOperation({
    id: 'putTenantAiBudget',
    method: 'put',
    path: '/v1/tenants/{tenantId}/ai/budget',
    tag: 'ai-usage',
    summary: 'Set the tenant-wide AI spend cap of a period (UTC day or month)',
    roles: writers,
    params: tenant,
    body: PutBudgetRequest,
    responses: { 200: { description: 'The cap as set', schema: Budget } },
    errors: TENANT_ERRORS,
  }),
  deleteTenantAiBudget: defineOperation({
    id: 'deleteTenantAiBudget',
    method: 'delete',
    path: '/v1/tenants/{tenantId}/ai/budget',
    tag: 'ai-usage',
    summary: 'Remove the tenant-wide AI spend cap of a period',
    roles: writers,
    params: tenant,
    query: BudgetPeriodQuery,
    responses: { 204: { description: 'Removed' } },
    errors: TENANT_ERRORS,
  }),
  putSecretAiBudget: defineOperation({
    id: 'putSecretAiBudget',
    method: 'put',
    path: '/v1/tenants/{tenantId}/secrets/{name}/budget',
    tag: 'ai-usage',
    summary: "Set one secret's AI spend cap of a period (UTC day or month)",
    roles: writers,
    params: secret,
    body: PutBudgetRequest,
    responses: { 200: { description: 'The cap as set', schema: Budget } },
    errors: TENANT_ERRORS,
  }),
  deleteSecretAiBudget: defineOperation({
    id: 'deleteSecretAiBudget',
    method: 'delete',
    path: '/v1/tenants/{tenantId}/secrets/{name}/budget',
    tag: 'ai-usage',
    summary: "Remove one secret's AI spend cap of a period",
    roles: writers,
    params: secret,
    query: BudgetPeriodQuery,
    responses: { 204: { description: 'Removed' } },
    errors: TENANT_ERRORS,
  }),
};
