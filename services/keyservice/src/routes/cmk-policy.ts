import type { KmsModuleConfigs } from '@byok/kms';
import { cmkPolicyGuide } from '../domain/keys/cmk-policy.js';
import type { ContractHandlers } from '../http/bind-operations.js';
import { tenantAccess, type RouteDeps } from '../http/context.js';

/**
 * Onboarding help: the exact grant the customer applies in its own cloud so this service
 * (its identity in `configs`) may use the key for this tenant.
 */
export function cmkPolicyHandlers(
  deps: RouteDeps,
  configs: KmsModuleConfigs,
): ContractHandlers<'getCmkPolicy'> {
  return {
    getCmkPolicy: async (req, res, input) => {
      const view = await tenantAccess(deps, req, res, 'cmk.read', { allowLocked: true });
      const q = input.query(req);
      res.json(cmkPolicyGuide(deps.registry.modules, configs, q.provider, view.tenant.id, q.keyRef));
    },
  };
}
