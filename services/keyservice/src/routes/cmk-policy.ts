import { Router, type IRouter } from 'express';
import { z } from 'zod';
import { cmkPolicyGuide, ONBOARDING_PROVIDERS, type ServiceIdentity } from '../domain/keys/cmk-policy.js';
import { tenantAccess, type AppDeps } from '../http/context.js';

const PolicyQuery = z
  .object({
    provider: z.enum(ONBOARDING_PROVIDERS),
    keyRef: z.string().min(1).max(2048).optional(),
  })
  .strict();

/**
 * Onboarding help: `GET /v1/tenants/{t}/cmk/policy?provider=...[&keyRef=...]` answers the exact grant
 * the customer applies in its own cloud so this service (`identity`) may use the key for this tenant.
 */
export function cmkPolicyRoutes(deps: AppDeps, identity: ServiceIdentity, r: IRouter = Router()): IRouter {
  r.get('/v1/tenants/:tenantId/cmk/policy', async (req, res) => {
    const view = await tenantAccess(deps, req, res, 'cmk.read', { allowLocked: true });
    const q = PolicyQuery.parse(req.query);
    res.json(cmkPolicyGuide(q.provider, view.tenant.id, identity, q.keyRef));
  });
  return r;
}
