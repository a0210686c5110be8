import { AppError } from '../errors.js';
import type { ContractHandlers } from '../http/bind-operations.js';
import { actorOf, tenantAccess, type RouteDeps } from '../http/context.js';

/** Tenant-key rotation, its re-encryption jobs, and retirement of old key versions. */
export function tenantKeyHandlers(
  deps: RouteDeps,
): ContractHandlers<'rotateTenantKey' | 'retireTenantKeys' | 'getJob'> {
  return {
    rotateTenantKey: async (req, res) => {
      const view = await tenantAccess(deps, req, res, 'cmk.write');
      const { version, jobId } = await deps.rotation.rotate(view.tenant.id, actorOf(res));
      await deps.publishTenantEvent(view.tenant.id, 'rotated');
      res.status(202).location(`/v1/tenants/${view.tenant.id}/jobs/${jobId}`).json({ version, jobId });
    },

    retireTenantKeys: async (req, res, input) => {
      const view = await tenantAccess(deps, req, res, 'cmk.write');
      const { minVersion } = input.body(req, {});
      const { retired } = await deps.rotation.retire(view, minVersion, actorOf(res));
      await deps.publishTenantEvent(view.tenant.id, 'rotated');
      res.json({ minVersion, retired });
    },

    getJob: async (req, res, input) => {
      const view = await tenantAccess(deps, req, res, 'cmk.read', { allowLocked: true });
      const id = input.param(req, 'jobId');
      const job = id === undefined ? undefined : await deps.rotation.get(view.tenant.id, id);
      if (!job) throw new AppError('NOT_FOUND', 'job not found');
      res.json(job);
    },
  };
}
