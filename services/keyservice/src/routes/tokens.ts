import { CreateTokenRequest } from '@byok/contract';
import { tenantRepository, tokenRepository, type TokenRow } from '@byok/store';
import { Router, type IRouter } from 'express';
import { AppError } from '../errors.js';
import { actorOf, principalOf, tenantAccess, type AppDeps } from '../http/context.js';

const tokenBody = (t: TokenRow) => ({
  id: t.id,
  name: t.name,
  role: t.role,
  tenantId: t.tenantId,
  createdAt: t.createdAt.toISOString(),
  revokedAt: t.revokedAt ? t.revokedAt.toISOString() : null,
});

/** Issuing, listing and revoking bearer tokens. */
export function tokenRoutes(deps: AppDeps, r: IRouter = Router()): IRouter {
  r.post('/v1/tokens', async (req, res) => {
    const principal = principalOf(res);
    const body = CreateTokenRequest.parse(req.body);
    const tenantId = body.tenantId ?? null;
    const allowed =
      principal.role === 'platform-admin' ||
      (principal.role === 'tenant-admin' && tenantId !== null && tenantId === principal.tenantId);
    if (!allowed) {
      await deps.audit.record(actorOf(res), {
        tenantId: tenantId && (await tenantRepository.get(deps.db, tenantId)) ? tenantId : null,
        action: 'token.create',
        outcome: 'denied',
        resource: `tenants/${tenantId ?? '(none)'}/tokens`,
        errorCode: 'FORBIDDEN',
      });
      throw new AppError('FORBIDDEN', 'this token may not issue tokens for that tenant');
    }
    if (tenantId === null && body.role !== 'auditor') {
      throw new AppError('VALIDATION_FAILED', `a ${body.role} token needs a tenantId`, {
        errors: [{ path: 'tenantId', message: 'required for this role' }],
      });
    }
    if (tenantId !== null) {
      const t = await tenantRepository.get(deps.db, tenantId);
      if (!t || t.state === 'deleted') throw new AppError('NOT_FOUND', `tenant ${tenantId} not found`);
    }
    await deps.audit.record(actorOf(res), {
      tenantId,
      action: 'token.create',
      outcome: 'success',
      resource: `tenants/${tenantId ?? '(platform)'}/tokens`,
      details: { newState: `${body.role} token issued` },
    });
    const { row, token } = await deps.tokens.issue(deps.db, {
      name: body.name,
      role: body.role,
      tenantId,
      createdBy: principal.tokenId,
    });
    res.status(201).json({ id: row.id, token, name: row.name, role: row.role, tenantId: row.tenantId });
  });

  r.get('/v1/tenants/:tenantId/tokens', async (req, res) => {
    const view = await tenantAccess(deps, req, res, 'token.read', { allowLocked: true });
    const rows = await tokenRepository.listByTenant(deps.db, view.tenant.id);
    res.json({ tokens: rows.map(tokenBody) });
  });

  r.delete('/v1/tenants/:tenantId/tokens/:tokenId', async (req, res) => {
    const view = await tenantAccess(deps, req, res, 'token.revoke', { allowLocked: true });
    const row = await tokenRepository.get(deps.db, String(req.params.tokenId));
    if (!row || row.tenantId !== view.tenant.id) throw new AppError('NOT_FOUND', 'token not found');
    await deps.audit.record(actorOf(res), {
      tenantId: view.tenant.id,
      action: 'token.revoke',
      outcome: 'success',
      resource: `tenants/${view.tenant.id}/tokens/${row.id}`,
    });
    await tokenRepository.revoke(deps.db, row.id);
    // Every instance forgets its verified tokens now, not after TOKEN_CACHE_SECONDS.
    await deps.publishTenantEvent(view.tenant.id, 'tokens');
    res.status(204).end();
  });

  return r;
}
