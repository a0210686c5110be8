import express, { type Express } from 'express';
import { AppError } from './errors.js';
import { authenticate, requestContext, type AppDeps } from './http/context.js';
import { problemHandler } from './http/problem.js';
import { auditRoutes } from './routes/audit.js';
import { cmkPolicyRoutes } from './routes/cmk-policy.js';
import { cryptoRoutes } from './routes/crypto.js';
import { devLocalKmsRoutes } from './routes/dev-local-kms.js';
import { healthRoutes } from './routes/health.js';
import { secretRoutes } from './routes/secrets.js';
import { tenantKeyRoutes } from './routes/tenant-keys.js';
import { tenantLifecycleRoutes } from './routes/tenant-lifecycle.js';
import { tenantRoutes } from './routes/tenants.js';
import { tokenRoutes } from './routes/tokens.js';

export type { AppDeps } from './http/context.js';

/** Builds the HTTP API without listening, so tests can mount it on any port. */
export function createApp(deps: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.use(requestContext(deps));
  healthRoutes(deps, app);
  app.use(
    express.json({
      limit: deps.bodyLimitBytes,
      strict: true,
      type: ['application/json', 'application/*+json'],
    }),
  );
  app.use('/v1', authenticate(deps.tokens));
  // Routes are registered on the app itself, not on nested routers (each nested router costs
  // every request a dispatch), hot paths first: each route before a request's own is a match attempt.
  cryptoRoutes(deps, app);
  secretRoutes(deps, app);
  tenantRoutes(deps, app);
  cmkPolicyRoutes(deps, deps.kmsModuleConfigs ?? {}, app);
  tenantLifecycleRoutes(deps, app);
  tenantKeyRoutes(deps, app);
  tokenRoutes(deps, app);
  auditRoutes(deps, app);
  if (deps.localKms) devLocalKmsRoutes(deps, app);
  app.use((req) => {
    throw new AppError('NOT_FOUND', `no route for ${req.method} on this path`);
  });
  app.use(problemHandler(deps.logger));
  return app;
}
