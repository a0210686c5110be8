import { apiContract, listenerOf } from '@byok/contract';
import express, { type Express } from 'express';
import { AuditLogService } from './domain/audit/audit-log-service.js';
import { TenantLifecycleService } from './domain/lifecycle/tenant-lifecycle-service.js';
import { SecretCatalog } from './domain/secrets/secret-catalog.js';
import { TenantService } from './domain/tenants/tenant-service.js';
import { TokenAdminService } from './domain/tokens/token-admin-service.js';
import { AppError } from './errors.js';
import { bindOperations } from './http/bind-operations.js';
import { authenticate, requestContext, type AppDeps, type RouteDeps } from './http/context.js';
import { problemHandler } from './http/problem.js';
import { aiUsageHandlers } from './routes/ai-usage.js';
import { StoreHealth } from './http/store-health.js';
import { aiGatewayHandlers, gatewayTokenOf } from './routes/ai-gateway.js';
import { apiReferenceHandlers } from './routes/api-reference.js';
import { auditSinkHandlers } from './routes/audit-sinks.js';
import { auditHandlers } from './routes/audit.js';
import { cmkPolicyHandlers } from './routes/cmk-policy.js';
import { cryptoHandlers } from './routes/crypto.js';
import { devLocalKmsHandlers } from './routes/dev-local-kms.js';
import { healthHandlers, metricsHandlers } from './routes/health.js';
import { secretHandlers } from './routes/secrets.js';
import { tenantKeyHandlers } from './routes/tenant-keys.js';
import { tenantLifecycleHandlers } from './routes/tenant-lifecycle.js';
import { tenantHandlers } from './routes/tenants.js';
import { tenantRateLimitHandlers } from './routes/tenant-rate-limit.js';
import { tokenHandlers } from './routes/tokens.js';

export type { AppDeps } from './http/context.js';

/** Options of {@link createApp} beyond its dependencies. */
export interface AppOptions {
  /** TESTS: check every response against its contract entry (see bindOperations). */
  validateResponses?: boolean;
}

/** The domain services the routes call, built from the app's dependencies. */
function routeDeps(deps: AppDeps): RouteDeps {
  return {
    ...deps,
    tenantService: new TenantService(deps),
    lifecycle: new TenantLifecycleService(deps),
    tokenAdmin: new TokenAdminService(deps),
    secretCatalog: new SecretCatalog(deps.db),
    auditLog: new AuditLogService({
      ...deps,
      security: deps.auditSecurity,
      ...(deps.auditExport
        ? { exportsPerTenant: deps.auditExport.perTenant, exportDeadlineMs: deps.auditExport.deadlineMs }
        : {}),
    }),
  };
}

/** Builds the HTTP API without listening, so tests can mount it on any port. */
export function createApp(deps: AppDeps, opts: AppOptions = {}): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  // Off by default: a client's own X-Forwarded-For must not pick its rate-limit bucket or audited address.
  if (deps.trustProxy !== undefined && deps.trustProxy !== false)
    app.set('trust proxy', typeof deps.trustProxy === 'number' ? deps.trustProxy : [...deps.trustProxy]);
  app.use(requestContext(deps));
  // Per address before the body is parsed or the token looked up: a refusal costs no database work.
  if (deps.rateLimiter) app.use('/v1', deps.rateLimiter.perAddress());
  app.use(
    '/v1',
    express.json({
      limit: deps.bodyLimitBytes,
      strict: true,
      type: ['application/json', 'application/*+json'],
    }),
  );
  app.use(
    '/v1',
    authenticate(
      deps.tokens,
      deps.serviceTokensNeedClientCertificate ?? false,
      deps.rateLimiter,
      gatewayTokenOf,
    ),
  );
  const r = routeDeps(deps);
  const storeHealth = new StoreHealth();
  // Every route comes from the contract, registered on the app itself in contract order (hot paths first).
  bindOperations(
    app,
    apiContract,
    {
      ...cryptoHandlers(r),
      ...secretHandlers(r),
      ...tenantHandlers(r),
      ...cmkPolicyHandlers(r, deps.kmsModuleConfigs ?? {}),
      ...tenantLifecycleHandlers(r),
      ...tenantKeyHandlers(r),
      ...tokenHandlers(r),
      ...auditHandlers(r),
      ...auditSinkHandlers(r),
      ...healthHandlers(r, storeHealth),
      ...metricsHandlers(deps.metrics),
      ...apiReferenceHandlers({ includeDevelopment: deps.localKms !== undefined }),
      ...devLocalKmsHandlers(r),
      ...tenantRateLimitHandlers(r),
      ...aiUsageHandlers(r),
      ...aiGatewayHandlers(r),
    },
    {
      validateResponses: opts.validateResponses ?? false,
      serves: (op) => listenerOf(op) === 'api' && (!op.development || deps.localKms !== undefined),
      onMismatch: (opId, why) => deps.logger.error({ opId, why }, 'response does not match the contract'),
    },
  );
  app.use((req) => {
    throw new AppError('NOT_FOUND', `no route for ${req.method} on this path`);
  });
  app.use(problemHandler(deps.logger, storeHealth));
  return app;
}

/**
 * The metrics listener's app: only the operations the contract puts on the `metrics` listener,
 * so Prometheus scrapes a port that carries no API and the API port carries no metrics.
 */
export function createMetricsApp(deps: Pick<AppDeps, 'metrics' | 'logger'>): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  bindOperations(app, { metrics: apiContract.metrics }, metricsHandlers(deps.metrics), {
    serves: (op) => listenerOf(op) === 'metrics',
  });
  app.use((req) => {
    throw new AppError('NOT_FOUND', `no route for ${req.method} on this path`);
  });
  app.use(problemHandler(deps.logger));
  return app;
}
