import { AppError } from '../errors.js';
import type { ContractHandlers } from '../http/bind-operations.js';
import { actorOf, tenantAccess, type RouteDeps } from '../http/context.js';

/** Kill switch (revoke/restore) and offboarding (crypto-shredding). */
export function tenantLifecycleHandlers(
  deps: RouteDeps,
): ContractHandlers<'lockTenant' | 'restoreTenant' | 'deleteTenant' | 'suspendService' | 'resumeService'> {
  return {
    lockTenant: async (req, res) => {
      const view = await tenantAccess(deps, req, res, 'tenant.lock', { allowLocked: true });
      await deps.lifecycle.lock(view.tenant.id, actorOf(res));
      res.json({ id: view.tenant.id, state: 'locked' });
    },

    restoreTenant: async (req, res) => {
      const view = await tenantAccess(deps, req, res, 'tenant.restore', { allowLocked: true });
      // The guard's view may be cached: the pending request of another instance must be seen.
      const tenant = (await deps.tenantService.get(view.tenant.id)) ?? view.tenant;
      const done = await deps.lifecycle.restore(tenant, actorOf(res));
      if (done.state === 'active') res.json({ id: tenant.id, state: 'active' });
      else
        res.status(202).json({
          id: tenant.id,
          state: 'locked',
          restore: 'pending',
          confirmBefore: done.confirmBefore.toISOString(),
        });
    },

    deleteTenant: async (req, res) => {
      // Platform admins only ('tenant.delete' is in no other role); a refusal lands in the tenant's chain.
      const view = await tenantAccess(deps, req, res, 'tenant.delete', { allowLocked: true });
      const destroyed = await deps.lifecycle.delete(view.tenant.id, actorOf(res));
      res.json({ id: view.tenant.id, state: 'deleted', destroyedTenantKeys: destroyed });
    },

    suspendService: async (req, res, input) => {
      const view = await tenantAccess(deps, req, res, 'service.suspend', { allowLocked: true });
      const service = input.param(req, 'service');
      if (!service) throw new AppError('NOT_FOUND', 'no such service name');
      await deps.lifecycle.setServiceSuspended(view.tenant.id, service, true, actorOf(res));
      res.json({ tenantId: view.tenant.id, service, suspended: true });
    },

    resumeService: async (req, res, input) => {
      const view = await tenantAccess(deps, req, res, 'service.suspend', { allowLocked: true });
      const service = input.param(req, 'service');
      if (!service) throw new AppError('NOT_FOUND', 'no such service name');
      await deps.lifecycle.setServiceSuspended(view.tenant.id, service, false, actorOf(res));
      res.json({ tenantId: view.tenant.id, service, suspended: false });
    },
  };
}
