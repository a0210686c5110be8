import type { ContractHandlers } from '../http/bind-operations.js';
import { sendProblem } from '../http/problem.js';
import { AppError } from '../errors.js';
import type { RouteDeps } from '../http/context.js';
import type { Metrics } from '../metrics.js';
import type { StoreHealth } from '../http/store-health.js';

/**
 * How long readiness waits for the database. A partitioned database (packets dropped, no reset)
 * never answers; readiness must say so within a load balancer's probe timeout, not hang.
 */
export const READY_TIMEOUT_MS = 1000;

/** Liveness and readiness on the API listener (unauthenticated, no tenant data). */
export function healthHandlers(
  deps: RouteDeps,
  storeHealth?: StoreHealth,
): ContractHandlers<'healthz' | 'readyz'> {
  return {
    healthz: (_req, res) => {
      res.json({ status: 'ok' });
    },
    readyz: async (_req, res) => {
      // Requests have just been refused for want of the database: say so without waiting in line.
      if (storeHealth?.recentlyFailed()) {
        sendProblem(res, new AppError('STORE_UNAVAILABLE'), undefined);
        return;
      }
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error('readiness deadline')), READY_TIMEOUT_MS);
      });
      try {
        await Promise.race([deps.ping(), deadline]);
        res.json({ status: 'ready' });
      } catch {
        sendProblem(res, new AppError('STORE_UNAVAILABLE'), undefined);
      } finally {
        clearTimeout(timer);
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
