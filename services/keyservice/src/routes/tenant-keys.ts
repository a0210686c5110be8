import { Router, type IRouter } from 'express';
import { z } from 'zod';
import { AppError } from '../errors.js';
import { actorOf, tenantAccess, type AppDeps } from '../http/context.js';

const RetireRequest = z.object({ minVersion: z.number().int().min(1).max(1_000_000) }).strict();
const JOB_ID = /^job_[0-9a-f]{24}$/;

/** Tenant-key rotation, its re-encryption jobs, and retirement of old key versions. */
export function tenantKeyRoutes(deps: AppDeps, r: IRouter = Router()): IRouter {
  r.post('/v1/tenants/:tenantId/tenant-key/rotate', async (req, res) => {
    const view = await tenantAccess(deps, req, res, 'cmk.write');
    const { version, jobId } = await deps.rotation.rotate(view.tenant.id, actorOf(res));
    await deps.publishTenantEvent(view.tenant.id, 'rotated');
    res.status(202).location(`/v1/tenants/${view.tenant.id}/jobs/${jobId}`).json({ version, jobId });
  });

  r.post('/v1/tenants/:tenantId/tenant-key/retire', async (req, res) => {
    const view = await tenantAccess(deps, req, res, 'cmk.write');
    const body = RetireRequest.parse(req.body ?? {});
    const { retired } = await deps.rotation.retire(view, body.minVersion, actorOf(res));
    await deps.publishTenantEvent(view.tenant.id, 'rotated');
    res.json({ minVersion: body.minVersion, retired });
  });

  r.get('/v1/tenants/:tenantId/jobs/:jobId', async (req, res) => {
    const view = await tenantAccess(deps, req, res, 'cmk.read', { allowLocked: true });
    const id = String(req.params.jobId);
    const job = JOB_ID.test(id) ? await deps.rotation.get(view.tenant.id, id) : undefined;
    if (!job) throw new AppError('NOT_FOUND', 'job not found');
    res.json(job);
  });

  return r;
}
