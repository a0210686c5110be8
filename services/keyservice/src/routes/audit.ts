import { AuditQuery, TenantId } from '@byok/contract';
import { Router } from 'express';
import { z } from 'zod';
import { AppError } from '../errors.js';
import { actorOf, principalOf, type AppDeps } from '../http/context.js';
import type { AuditFilters } from '../domain/audit-queries.js';
import type { Principal } from '../domain/token-service.js';

/** Which chain a principal may read: its own tenant, or any for platform admins and global auditors. */
async function auditScope(
  deps: AppDeps,
  principal: Principal,
  requested: string | undefined,
  actor: ReturnType<typeof actorOf>,
): Promise<string | undefined> {
  const global =
    principal.role === 'platform-admin' || (principal.role === 'auditor' && principal.tenantId === null);
  if (global) return requested;
  const mayRead = principal.role === 'auditor' || principal.role === 'tenant-admin';
  if (mayRead && principal.tenantId && (requested === undefined || requested === principal.tenantId))
    return principal.tenantId;
  await deps.audit.record(actor, {
    tenantId: requested && (await deps.directory.get(requested)) ? requested : null,
    action: 'audit.read',
    outcome: 'denied',
    resource: `audit/${requested ?? '(all)'}`,
    errorCode: 'FORBIDDEN',
  });
  throw new AppError('FORBIDDEN', 'this token may not read that audit log');
}

/** Query and verification of the audit log. */
export function auditRoutes(deps: AppDeps): Router {
  const r = Router();

  r.get('/v1/audit', async (req, res) => {
    const principal = principalOf(res);
    const q = AuditQuery.parse(req.query);
    const tenantId = await auditScope(deps, principal, q.tenantId, actorOf(res));
    const filters: AuditFilters = {};
    if (tenantId) filters.tenantId = tenantId;
    if (q.action) filters.action = q.action;
    if (q.outcome) filters.outcome = q.outcome;
    if (q.actorTokenId) filters.actorTokenId = q.actorTokenId;
    if (q.purpose) filters.purpose = q.purpose;
    if (q.resource) filters.resource = q.resource;
    if (q.since) filters.since = new Date(q.since);
    if (q.until) filters.until = new Date(q.until);
    res.json(await deps.auditQueries.query(filters, q.cursor, q.limit ?? 100));
  });

  r.get('/v1/audit/verify', async (req, res) => {
    const principal = principalOf(res);
    const q = z.strictObject({ tenantId: TenantId.optional() }).parse(req.query);
    const tenantId = await auditScope(deps, principal, q.tenantId, actorOf(res));
    if (!tenantId)
      throw new AppError('VALIDATION_FAILED', 'tenantId is required', {
        errors: [{ path: 'tenantId', message: 'required' }],
      });
    res.json(await deps.auditQueries.verify(tenantId));
  });

  return r;
}
