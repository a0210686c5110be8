import { Router, type IRouter } from 'express';
import { z } from 'zod';
import type { KmsModuleConfigs } from '@byok/kms';
import { cmkPolicyGuide } from '../domain/keys/cmk-policy.js';
import { tenantAccess, type AppDeps } from '../http/context.js';

const PolicyQuery = z
  .object({
    provider: z.string().min(1).max(64),
    keyRef: z.string().min(1).max(2048).optional(),
  })
  .strict();

/**
 * Onboarding help: `GET /v1/tenants/{t}/cmk/policy?provider=...[&keyRef=...]` answers the exact grant
 * the customer applies in its own cloud so this service (its identity in `configs`) may use the key for this tenant.
 */
export function cmkPolicyRoutes(deps: AppDeps, configs: KmsModuleConfigs, r: IRouter = Router()): IRouter {
  r.get('/v1/tenants/:tenantId/cmk/policy', async (req, res) => {
    const view = await tenantAccess(deps, req, res, 'cmk.read', { allowLocked: true });
    const q = PolicyQuery.parse(req.query);
    res.json(cmkPolicyGuide(deps.registry.modules, configs, q.provider, view.tenant.id, q.keyRef));
  });
  return r;
}
