import type { TenantPolicyRecord, TenantRecord } from '../domain/tenants/tenant-service.js';
import type { ContractHandlers } from '../http/bind-operations.js';
import { actorOf, platformAccess, tenantAccess, type RouteDeps } from '../http/context.js';

const tenantBody = (t: TenantRecord) => ({
  id: t.id,
  name: t.name,
  state: t.state,
  cacheTtlSeconds: t.cacheTtlSeconds,
  createdAt: t.createdAt.toISOString(),
});

const policyBody = (t: TenantRecord) => ({
  cacheTtlSeconds: t.cacheTtlSeconds,
  ...(t.policy.allowedPurposes ? { allowedPurposes: t.policy.allowedPurposes } : {}),
  ...(t.policy.purposeInKmsContext !== undefined
    ? { purposeInKmsContext: t.policy.purposeInKmsContext }
    : {}),
  ...(t.policy.restoreRequiresTwoAdmins !== undefined
    ? { restoreRequiresTwoAdmins: t.policy.restoreRequiresTwoAdmins }
    : {}),
  ...(t.policy.aiSpikes ? { aiSpikes: t.policy.aiSpikes } : {}),
});

/** Tenants, their customer key and policy. */
export function tenantHandlers(
  deps: RouteDeps,
): ContractHandlers<'createTenant' | 'getTenant' | 'putCmk' | 'getCmk' | 'getPolicy' | 'putPolicy'> {
  return {
    createTenant: async (req, res, input) => {
      await platformAccess(deps, res, 'tenant.create');
      const tenant = await deps.tenantService.create(input.body(req), actorOf(res));
      res.status(201).location(`/v1/tenants/${tenant.id}`).json(tenantBody(tenant));
    },

    getTenant: async (req, res) => {
      const view = await tenantAccess(deps, req, res, 'tenant.read', { allowLocked: true });
      res.json(tenantBody(view.tenant));
    },

    putCmk: async (req, res, input) => {
      const view = await tenantAccess(deps, req, res, 'cmk.write');
      const body = input.body(req);
      res.json(
        await deps.tenantService.registerCmk(view.tenant.id, body.provider, body.keyRef, actorOf(res)),
      );
    },

    getCmk: async (req, res) => {
      const view = await tenantAccess(deps, req, res, 'cmk.read', { allowLocked: true });
      res.json(await deps.tenantService.cmk(view.tenant.id));
    },

    getPolicy: async (req, res) => {
      const view = await tenantAccess(deps, req, res, 'policy.read', { allowLocked: true });
      res.json(policyBody(view.tenant));
    },

    putPolicy: async (req, res, input) => {
      const view = await tenantAccess(deps, req, res, 'policy.write', { allowLocked: true });
      const body = input.body(req);
      const updated = await deps.tenantService.updatePolicy(
        view.tenant,
        {
          cacheTtlSeconds: body.cacheTtlSeconds,
          allowedPurposes: body.allowedPurposes as TenantPolicyRecord['allowedPurposes'],
          purposeInKmsContext: body.purposeInKmsContext,
          restoreRequiresTwoAdmins: body.restoreRequiresTwoAdmins,
          aiSpikes: body.aiSpikes as TenantPolicyRecord['aiSpikes'],
        },
        actorOf(res),
      );
      res.json(policyBody(updated));
    },
  };
}
