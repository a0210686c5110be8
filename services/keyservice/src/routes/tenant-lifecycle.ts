import type { ContractHandlers } from '../http/bind-operations.js';
import { actorOf, tenantAccess, type RouteDeps } from '../http/context.js';

/** Kill switch (revoke/restore) and offboarding (crypto-shredding). */
export function tenantLifecycleHandlers(
  deps: RouteDeps,
): ContractHandlers<'lockTenant' | 'restoreTenant' | 'deleteTenant'> {
  return {
    lockTenant: async (req, res) => {
      const view = await tenantAccess(deps, req, res, 'tenant.lock', { allowLocked: true });
      await deps.lifecycle.lock(view.tenant.id, actorOf(res));
      res.json({ id: view.tenant.id, state: 'locked' });
    },

    restoreTenant: async (req, res) => {
      const view = await tenantAccess(deps, req, res, 'tenant.lock', { allowLocked: true });
      await deps.lifecycle.restore(view.tenant.id, actorOf(res));
      res.json({ id: view.tenant.id, state: 'active' });
    },

    deleteTenant: async (req, res) => {
      // Platform admins only ('tenant.delete' is in no other role); a refusal lands in the tenant's chain.
      const view = await tenantAccess(deps, req, res, 'tenant.delete', { allowLocked: true });
      const destroyed = await deps.lifecycle.delete(view.tenant.id, actorOf(res));
      res.json({ id: view.tenant.id, state: 'deleted', destroyedTenantKeys: destroyed });
    },
  };
}
