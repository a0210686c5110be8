import type { ContractHandlers } from '../http/bind-operations.js';
import { sendProblem } from '../http/problem.js';
import { AppError } from '../errors.js';
import type { RouteDeps } from '../http/context.js';
import type { Metrics } from '../metrics.js';

/** Liveness and readiness on the API listener (unauthenticated, no tenant data). */
export function healthHandlers(deps: RouteDeps): ContractHandlers<'healthz' | 'readyz'> {
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
  };
}

/** Prometheus metrics: bound on the metrics listener only (its contract entry says so). */
export function metricsHandlers(metrics: Metrics): ContractHandlers<'metrics'> {
  return {
    metrics: async (_req, res) => {
      res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
    },
  };
}
