import type { AuditSinkService } from '../domain/audit/audit-sinks.js';
import { AppError } from '../errors.js';
import type { ContractHandlers } from '../http/bind-operations.js';
import { actorOf, tenantAccess, type RouteDeps } from '../http/context.js';

function sinksOf(deps: RouteDeps): AuditSinkService {
  if (!deps.auditSecurity) throw new AppError('NOT_FOUND', 'audit sinks are not configured');
  return deps.auditSecurity.sinks;
}

const sinkNotFound = () => new AppError('NOT_FOUND', 'sink not found');

/** SIEM sinks of a tenant: register (secret shown once), list, delivery state, disable. */
export function auditSinkHandlers(
  deps: RouteDeps,
): ContractHandlers<'createAuditSink' | 'listAuditSinks' | 'getAuditSink' | 'disableAuditSink'> {
  return {
    createAuditSink: async (req, res, input) => {
      const view = await tenantAccess(deps, req, res, 'policy.write', { allowLocked: true });
      const body = input.body(req);
      const sink = await sinksOf(deps).create(view.tenant.id, body);
      await deps.audit.record(actorOf(res), {
        tenantId: view.tenant.id,
        action: 'audit.sink.create',
        outcome: 'success',
        resource: `tenants/${view.tenant.id}/audit/sinks/${sink.id}`,
      });
      res.status(201).json(sink);
    },

    listAuditSinks: async (req, res) => {
      const view = await tenantAccess(deps, req, res, 'audit.read', { allowLocked: true });
      res.json({ sinks: await sinksOf(deps).list(view.tenant.id) });
    },

    getAuditSink: async (req, res, input) => {
      const view = await tenantAccess(deps, req, res, 'audit.read', { allowLocked: true });
      const id = input.param(req, 'sinkId');
      const sink = id === undefined ? undefined : await sinksOf(deps).get(view.tenant.id, id);
      if (!sink) throw sinkNotFound();
      res.json(sink);
    },

    disableAuditSink: async (req, res, input) => {
      const view = await tenantAccess(deps, req, res, 'policy.write', { allowLocked: true });
      const id = input.param(req, 'sinkId');
      if (id === undefined || !(await sinksOf(deps).disable(view.tenant.id, id))) throw sinkNotFound();
      await deps.audit.record(actorOf(res), {
        tenantId: view.tenant.id,
        action: 'audit.sink.disable',
        outcome: 'success',
        resource: `tenants/${view.tenant.id}/audit/sinks/${id}`,
      });
      res.status(204).end();
    },
  };
}
