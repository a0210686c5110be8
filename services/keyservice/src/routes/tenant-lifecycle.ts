import { secretRepository, tenantKeyRepository, tenantRepository, tokenRepository } from '@byok/store';
import { Router, type IRouter } from 'express';
import { actorOf, tenantAccess, type AppDeps } from '../http/context.js';

/** Kill switch (revoke/restore) and offboarding (crypto-shredding). */
export function tenantLifecycleRoutes(deps: AppDeps, r: IRouter = Router()): IRouter {
  r.post('/v1/tenants/:tenantId/revoke', async (req, res) => {
    const view = await tenantAccess(deps, req, res, 'tenant.lock', { allowLocked: true });
    const tenantId = view.tenant.id;
    await deps.audit.record(actorOf(res), {
      tenantId,
      action: 'tenant.lock',
      outcome: 'success',
      resource: `tenants/${tenantId}`,
      details: { newState: 'locked' },
    });
    await tenantRepository.setState(deps.db, tenantId, 'locked');
    await deps.publishTenantEvent(tenantId, 'locked');
    res.json({ id: tenantId, state: 'locked' });
  });

  r.post('/v1/tenants/:tenantId/restore', async (req, res) => {
    const view = await tenantAccess(deps, req, res, 'tenant.lock', { allowLocked: true });
    const tenantId = view.tenant.id;
    await deps.audit.record(actorOf(res), {
      tenantId,
      action: 'tenant.restore',
      outcome: 'success',
      resource: `tenants/${tenantId}`,
      details: { newState: 'active' },
    });
    await tenantRepository.setState(deps.db, tenantId, 'active');
    await deps.publishTenantEvent(tenantId, 'restored');
    res.json({ id: tenantId, state: 'active' });
  });

  r.delete('/v1/tenants/:tenantId', async (req, res) => {
    // Platform admins only ('tenant.delete' is in no other role); a refusal lands in the tenant's chain.
    const view = await tenantAccess(deps, req, res, 'tenant.delete', { allowLocked: true });
    const tenantId = view.tenant.id;
    await deps.audit.record(actorOf(res), {
      tenantId,
      action: 'tenant.delete',
      outcome: 'success',
      resource: `tenants/${tenantId}`,
      details: { newState: 'deleted' },
    });
    // Crypto-shredding: without the wrapped tenant keys no ciphertext of this tenant can ever be
    // opened again, even by someone holding the CMK. Audit events stay.
    const destroyed = await deps.withTransaction(async (tx) => {
      const n = await tenantKeyRepository.destroyAll(tx, tenantId);
      await secretRepository.deleteAllForTenant(tx, tenantId);
      await tokenRepository.revokeAllForTenant(tx, tenantId);
      await tenantRepository.setState(tx, tenantId, 'deleted');
      return n;
    });
    deps.tokens.forgetAll();
    await deps.publishTenantEvent(tenantId, 'deleted');
    res.json({ id: tenantId, state: 'deleted', destroyedTenantKeys: destroyed });
  });

  return r;
}
