import { AppError } from '../errors.js';
import type { ContractHandlers } from '../http/bind-operations.js';
import { actorOf, tenantAccess, type RouteDeps } from '../http/context.js';
import type { AiBudgetService } from '../domain/ai/metering/ai-budget-service.js';

function budgetsOf(deps: RouteDeps): AiBudgetService {
  if (!deps.aiBudgets) throw new AppError('NOT_FOUND', 'AI metering is not configured');
  return deps.aiBudgets;
}

const secretNotFound = () => new AppError('NOT_FOUND', 'secret not found');

/** AI usage (the cost dashboard's data) and spend caps. */
export function aiUsageHandlers(
  deps: RouteDeps,
): ContractHandlers<
  | 'getAiUsage'
  | 'listAiBudgets'
  | 'putTenantAiBudget'
  | 'deleteTenantAiBudget'
  | 'putSecretAiBudget'
  | 'deleteSecretAiBudget'
> {
  return {
    getAiUsage: async (req, res, input) => {
      const view = await tenantAccess(deps, req, res, 'ai.usage.read', { allowLocked: true });
      res.json(await budgetsOf(deps).usage(view.tenant.id, input.query(req)));
    },

    listAiBudgets: async (req, res) => {
      const view = await tenantAccess(deps, req, res, 'ai.budget.read', { allowLocked: true });
      res.json({ budgets: await budgetsOf(deps).list(view.tenant.id) });
    },

    putTenantAiBudget: async (req, res, input) => {
      const view = await tenantAccess(deps, req, res, 'ai.budget.write', { allowLocked: true });
      const body = input.body(req);
      res.json(
        await budgetsOf(deps).set(view.tenant.id, undefined, body.period, body.limitMicros, actorOf(res)),
      );
    },

    deleteTenantAiBudget: async (req, res, input) => {
      const view = await tenantAccess(deps, req, res, 'ai.budget.write', { allowLocked: true });
      const q = input.query(req);
      await budgetsOf(deps).remove(view.tenant.id, undefined, q.period, actorOf(res));
      res.status(204).end();
    },

    putSecretAiBudget: async (req, res, input) => {
      const view = await tenantAccess(deps, req, res, 'ai.budget.write', { allowLocked: true });
      const name = input.param(req, 'name');
      if (name === undefined) throw secretNotFound();
      const body = input.body(req);
      res.json(await budgetsOf(deps).set(view.tenant.id, name, body.period, body.limitMicros, actorOf(res)));
    },

    deleteSecretAiBudget: async (req, res, input) => {
      const view = await tenantAccess(deps, req, res, 'ai.budget.write', { allowLocked: true });
      const name = input.param(req, 'name');
      if (name === undefined) throw secretNotFound();
      const q = input.query(req);
      await budgetsOf(deps).remove(view.tenant.id, name, q.period, actorOf(res));
      res.status(204).end();
    },
  };
}
