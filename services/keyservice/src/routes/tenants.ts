import { CreateTenantRequest, PutCmkRequest, PutPolicyRequest } from '@byok/contract';
import { tenantKeyRepository, tenantRepository, type TenantPolicy, type TenantRow } from '@byok/store';
import { Router, type IRouter } from 'express';
import { boundPurposes } from '../domain/keys/cmk-manager.js';
import { requireKnownProvider } from '../domain/keys/cmk-policy.js';
import { AppError } from '../errors.js';
import { actorOf, platformAccess, tenantAccess, type AppDeps } from '../http/context.js';

const tenantBody = (t: TenantRow) => ({
  id: t.id,
  name: t.name,
  state: t.state,
  cacheTtlSeconds: t.cacheTtlSeconds,
  createdAt: t.createdAt.toISOString(),
});

const policyBody = (t: TenantRow) => ({
  cacheTtlSeconds: t.cacheTtlSeconds,
  ...(t.policy.allowedPurposes ? { allowedPurposes: t.policy.allowedPurposes } : {}),
  ...(t.policy.purposeInKmsContext !== undefined
    ? { purposeInKmsContext: t.policy.purposeInKmsContext }
    : {}),
});

/** Tenants, their customer key, policy and kill switch. */
export function tenantRoutes(deps: AppDeps, r: IRouter = Router()): IRouter {
  r.post('/v1/tenants', async (req, res) => {
    await platformAccess(deps, res, 'tenant.create');
    const body = CreateTenantRequest.parse(req.body);
    if (await tenantRepository.get(deps.db, body.id))
      throw new AppError('CONFLICT', `tenant ${body.id} already exists`);
    await deps.audit.record(actorOf(res), {
      tenantId: null,
      action: 'tenant.create',
      outcome: 'success',
      resource: `tenants/${body.id}`,
    });
    const tenant = await tenantRepository.create(deps.db, body);
    res.status(201).location(`/v1/tenants/${tenant.id}`).json(tenantBody(tenant));
  });

  r.get('/v1/tenants/:tenantId', async (req, res) => {
    const view = await tenantAccess(deps, req, res, 'tenant.read', { allowLocked: true });
    res.json(tenantBody(view.tenant));
  });

  r.put('/v1/tenants/:tenantId/cmk', async (req, res) => {
    const view = await tenantAccess(deps, req, res, 'cmk.write');
    const body = PutCmkRequest.parse(req.body);
    requireKnownProvider(deps.registry.modules, body.provider);
    if (!deps.registry.has(body.provider)) {
      throw new AppError(
        'CMK_VERIFICATION_FAILED',
        `provider ${body.provider} is not enabled on this service`,
      );
    }
    await deps.cmk.registerCmk(view.tenant.id, body.provider, body.keyRef, actorOf(res));
    await deps.publishTenantEvent(view.tenant.id, 'cmk');
    res.status(200).json(await cmkBody(deps, view.tenant.id));
  });

  r.get('/v1/tenants/:tenantId/cmk', async (req, res) => {
    const view = await tenantAccess(deps, req, res, 'cmk.read', { allowLocked: true });
    res.json(await cmkBody(deps, view.tenant.id));
  });

  r.get('/v1/tenants/:tenantId/policy', async (req, res) => {
    const view = await tenantAccess(deps, req, res, 'policy.read', { allowLocked: true });
    res.json(policyBody(view.tenant));
  });

  r.put('/v1/tenants/:tenantId/policy', async (req, res) => {
    const view = await tenantAccess(deps, req, res, 'policy.write', { allowLocked: true });
    const body = PutPolicyRequest.parse(req.body);
    const policy: TenantPolicy = { ...view.tenant.policy };
    if (body.allowedPurposes !== undefined)
      policy.allowedPurposes = body.allowedPurposes as TenantPolicy['allowedPurposes'];
    if (body.purposeInKmsContext !== undefined) policy.purposeInKmsContext = body.purposeInKmsContext;
    const ttl = body.cacheTtlSeconds ?? view.tenant.cacheTtlSeconds;
    const purposes = boundPurposes(policy);
    if (policy.purposeInKmsContext && (ttl !== 0 || purposes.length === 0)) {
      throw new AppError('VALIDATION_FAILED', 'purposeInKmsContext needs strict mode and a purpose list', {
        errors: [
          {
            path: 'purposeInKmsContext',
            message: 'requires cacheTtlSeconds 0 and at least one allowed purpose',
          },
        ],
      });
    }
    await deps.audit.record(actorOf(res), {
      tenantId: view.tenant.id,
      action: 'policy.update',
      outcome: 'success',
      resource: `tenants/${view.tenant.id}/policy`,
      details: { cacheTtlSeconds: ttl },
    });
    // Purpose-bound key copies are made (each wrap proven) before the policy that needs them is
    // stored; turning the binding off removes them.
    if (purposes.length > 0 || view.tenant.policy.purposeInKmsContext) {
      await deps.cmk.preparePurposeWraps(view.tenant.id, purposes, actorOf(res));
    }
    const updated = await tenantRepository.setPolicy(deps.db, view.tenant.id, ttl, policy);
    if (!updated) throw new AppError('NOT_FOUND', `tenant ${view.tenant.id} not found`);
    // A shorter window must take effect now, on every instance, not when the old entries expire.
    await deps.publishTenantEvent(view.tenant.id, 'policy');
    res.json(policyBody(updated));
  });

  return r;
}

async function cmkBody(deps: AppDeps, tenantId: string) {
  const cmk = await tenantRepository.getCmk(deps.db, tenantId);
  if (!cmk) throw new AppError('NOT_FOUND', `tenant ${tenantId} has no customer key`);
  const current = await tenantKeyRepository.current(deps.db, tenantId);
  return {
    provider: cmk.provider,
    keyRef: cmk.keyRef,
    state: cmk.state,
    verifiedAt: cmk.verifiedAt.toISOString(),
    lastCheckAt: cmk.lastCheckAt.toISOString(),
    lastError: cmk.lastError,
    tenantKeyVersion: current?.version ?? null,
  };
}
