import type { ContractHandlers } from '../http/bind-operations.js';
import { sendProblem } from '../http/problem.js';
import { AppError } from '../errors.js';
import type { RouteDeps } from '../http/context.js';

/** Liveness, readiness and Prometheus metrics (unauthenticated, no tenant data). */
export function healthHandlers(deps: RouteDeps): ContractHandlers<'healthz' | 'readyz' | 'metrics'> {
  return {
    healthz: (_req, res) => {
      res.json({ status: 'ok' });
    },
    readyz: async (_req, res) => {
      try {
        await deps.ping();
        res.json({ status: 'ready' });
      } catch {
        sendProblem(res, new AppError('STORE_UNAVAILABLE'), undefined);
      }
    },
    metrics: async (_req, res) => {
      res.type(deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics());
    },
  };
}
