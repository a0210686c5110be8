import { describe, expect, it } from '@jest/globals';
import { apiContract, type OperationId, type OperationRole } from '@byok/contract';
import { isAllowed, type Action } from '../domain/tokens/role-model.js';

/** The permission each tenant-guarded handler asks `tenantAccess` for (see routes/). */
const ACTION: Partial<Record<OperationId, Action>> = {
  encrypt: 'encrypt',
  decrypt: 'decrypt',
  encryptBatch: 'encrypt',
  decryptBatch: 'decrypt',
  putSecret: 'secret.write',
  listSecrets: 'secret.list',
  getSecret: 'secret.list',
  revealSecret: 'secret.reveal',
  aiGatewayPost: 'ai.use',
  aiGatewayGet: 'ai.use',
  aiGatewayDelete: 'ai.use',
  deleteSecret: 'secret.delete',
  getTenant: 'tenant.read',
  putCmk: 'cmk.write',
  getCmk: 'cmk.read',
  getCmkPolicy: 'cmk.read',
  getPolicy: 'policy.read',
  putPolicy: 'policy.write',
  lockTenant: 'tenant.lock',
  restoreTenant: 'tenant.restore',
  suspendService: 'service.suspend',
  resumeService: 'service.suspend',
  deleteTenant: 'tenant.delete',
  rotateTenantKey: 'cmk.write',
  retireTenantKeys: 'cmk.write',
  getJob: 'cmk.read',
  listTokens: 'token.read',
  revokeToken: 'token.revoke',
  createAuditSink: 'policy.write',
  listAuditSinks: 'audit.read',
  getAuditSink: 'audit.read',
  disableAuditSink: 'policy.write',
  getAiUsage: 'ai.usage.read',
  listAiBudgets: 'ai.budget.read',
  putTenantAiBudget: 'ai.budget.write',
  deleteTenantAiBudget: 'ai.budget.write',
  putSecretAiBudget: 'ai.budget.write',
  deleteSecretAiBudget: 'ai.budget.write',
  getTenantRateLimit: 'tenant.rate-limit.read',
  putTenantRateLimit: 'tenant.rate-limit.set',
  clearTenantRateLimit: 'tenant.rate-limit.set',
};

const ROLES = ['platform-admin', 'tenant-admin', 'service', 'auditor'] as const;

describe("the contract's roles document the role table (role-model.ts)", () => {
  it.each(Object.entries(ACTION))(
    '%s lists exactly the roles allowed to %s on their own tenant',
    (id, action) => {
      const allowed = ROLES.filter((role) =>
        isAllowed({ role, tenantId: role === 'platform-admin' ? null : 'acme' }, action as Action, 'acme'),
      );
      const documented = apiContract[id as OperationId].roles as readonly OperationRole[];
      expect([...documented].sort()).toEqual([...allowed].sort());
    },
  );

  it('covers every tenant route of the contract', () => {
    const tenantRoutes = Object.values(apiContract)
      .filter((op) => op.path.includes('{tenantId}'))
      .map((op) => op.id)
      .sort();
    expect(Object.keys(ACTION).sort()).toEqual(tenantRoutes);
  });
});
