import { Router, type IRouter } from 'express';
import type { AppDeps } from '../http/context.js';

/** Liveness, readiness and Prometheus metrics (unauthenticated, no tenant data). */
export function healthRoutes(deps: AppDeps, r: IRouter = Router()): IRouter {
  r.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  r.get('/readyz', async (_req, res) => {
    try {
      await deps.ping();
      res.json({ status: 'ready' });
    } catch {
      res
        .status(503)
        .type('application/problem+json')
        .send(
          JSON.stringify({
            type: 'https://byok.dev/problems/store-unavailable',
            title: 'The database is unavailable',
            status: 503,
            code: 'STORE_UNAVAILABLE',
          }),
        );
    }
  });
  r.get('/metrics', async (_req, res) => {
    res.type(deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics());
  });
  return r;
}
