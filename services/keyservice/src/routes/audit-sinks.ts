import { Router, type IRouter } from 'express';
import { z } from 'zod';
import { AppError } from '../errors.js';
import { actorOf, tenantAccess, type AppDeps } from '../http/context.js';
import type { AuditSinkService } from '../domain/audit/audit-sinks.js';

const CreateSink = z.strictObject({
  url: z.string().min(8).max(2048),
  batchSize: z.number().int().min(1).max(1000).optional(),
  startAt: z.enum(['beginning', 'now']).optional(),
});
const SINK_ID = /^snk_[0-9a-f]{20}$/;

function sinksOf(deps: AppDeps): AuditSinkService {
  if (!deps.auditSecurity) throw new AppError('NOT_FOUND', 'audit sinks are not configured');
  return deps.auditSecurity.sinks;
}

/** SIEM sinks of a tenant: register (secret shown once), list, delivery state, disable. */
export function auditSinkRoutes(deps: AppDeps, r: IRouter = Router()): IRouter {
  r.post('/v1/tenants/:tenantId/audit/sinks', async (req, res) => {
    const view = await tenantAccess(deps, req, res, 'policy.write', { allowLocked: true });
    const body = CreateSink.parse(req.body);
    const sink = await sinksOf(deps).create(view.tenant.id, body);
    await deps.audit.record(actorOf(res), {
      tenantId: view.tenant.id,
      action: 'audit.sink.create',
      outcome: 'success',
      resource: `tenants/${view.tenant.id}/audit/sinks/${sink.id}`,
    });
    res.status(201).json(sink);
  });

  r.get('/v1/tenants/:tenantId/audit/sinks', async (req, res) => {
    const view = await tenantAccess(deps, req, res, 'audit.read', { allowLocked: true });
    res.json({ sinks: await sinksOf(deps).list(view.tenant.id) });
  });

  r.get('/v1/tenants/:tenantId/audit/sinks/:sinkId', async (req, res) => {
    const view = await tenantAccess(deps, req, res, 'audit.read', { allowLocked: true });
    const id = String(req.params.sinkId);
    const sink = SINK_ID.test(id) ? await sinksOf(deps).get(view.tenant.id, id) : undefined;
    if (!sink) throw new AppError('NOT_FOUND', 'sink not found');
    res.json(sink);
  });

  r.delete('/v1/tenants/:tenantId/audit/sinks/:sinkId', async (req, res) => {
    const view = await tenantAccess(deps, req, res, 'policy.write', { allowLocked: true });
    const id = String(req.params.sinkId);
    if (!SINK_ID.test(id) || !(await sinksOf(deps).disable(view.tenant.id, id)))
      throw new AppError('NOT_FOUND', 'sink not found');
    await deps.audit.record(actorOf(res), {
      tenantId: view.tenant.id,
      action: 'audit.sink.disable',
      outcome: 'success',
      resource: `tenants/${view.tenant.id}/audit/sinks/${id}`,
    });
    res.status(204).end();
  });

  return r;
}
