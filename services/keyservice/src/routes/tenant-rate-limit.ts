import type { TenantRateLimit } from '@byok/store';
import type { ContractHandlers } from '../http/bind-operations.js';
import { actorOf, tenantAccess, type RouteDeps } from '../http/context.js';
import { TenantRateLimits } from '../domain/tenants/tenant-rate-limits.js';

/** Per-tenant rate-limit overrides (platform admin sets; tenant admins read). */
export function tenantRateLimitHandlers(
  deps: RouteDeps,
): ContractHandlers<'getTenantRateLimit' | 'putTenantRateLimit' | 'clearTenantRateLimit'> {
  const limits = new TenantRateLimits(deps);
  const body = (tenantId: string, override: TenantRateLimit | null) => {
    const effective = override ?? deps.rateLimiter?.limits.tenant ?? { rps: 0, burst: 0 };
    return { tenantId, rps: effective.rps, burst: effective.burst, override: override !== null };
  };
  return {
    getTenantRateLimit: async (req, res) => {
      // Reading the limit spends none of it: a throttled tenant's admin can still see why.
      const view = await tenantAccess(deps, req, res, 'tenant.rate-limit.read', {
        allowLocked: true,
        tenantRateLimit: false,
      });
      res.json(body(view.tenant.id, view.tenant.rateLimit));
    },

    putTenantRateLimit: async (req, res, input) => {
      const view = await tenantAccess(deps, req, res, 'tenant.rate-limit.set', {
        allowLocked: true,
        // A tenant spending its whole budget must not lock its platform admin out of this route.
        tenantRateLimit: false,
      });
      const { rps, burst } = input.body(req);
      res.json(body(view.tenant.id, await limits.set(view.tenant.id, { rps, burst }, actorOf(res))));
    },

    clearTenantRateLimit: async (req, res) => {
      const view = await tenantAccess(deps, req, res, 'tenant.rate-limit.set', {
        allowLocked: true,
        // A tenant spending its whole budget must not lock its platform admin out of this route.
        tenantRateLimit: false,
      });
      res.json(body(view.tenant.id, await limits.set(view.tenant.id, null, actorOf(res))));
    },
  };
}
