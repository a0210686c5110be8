import { join } from 'node:path';
import { createAuditWriter, queryEvents, verifyChain } from '@byok/audit';
import { useEnvelopeBackend } from '@byok/envelope';
import {
  KmsRegistry,
  localKeyStoreOf,
  withResilience,
  type KmsProvider,
  type LocalKeyStore,
} from '@byok/kms';
import {
  createPool,
  migrate,
  ping,
  aiUsageRepository,
  setSecretAiState,
  withTransaction,
  type Db,
  type SecretAiRow,
  type Store,
} from '@byok/store';
import type { Express } from 'express';
import { randomBytes } from 'node:crypto';
import { DenialAggregator } from './domain/audit/denial-aggregator.js';
import { MemoryBuckets, RateLimiter, RedisBuckets, resolveRateLimits } from './http/rate-limit.js';
import { EgressGuard, type Resolver } from '@byok/egress';
import { AiGatewayService } from './domain/ai/ai-gateway-service.js';
import type { AiMeteringPort } from './domain/ai/metering-port.js';
import { UpstreamClient } from './domain/ai/upstream-client.js';
import { createApp, createMetricsApp, type AppOptions } from './app.js';
import type { Config } from './config.js';
import { AuditRecorder, type AuditAppender } from './domain/audit/audit-recorder.js';
import { startAuditSecurity } from './domain/audit/audit-security.js';
import type { AuditQueries } from './domain/audit/audit-queries.js';
import { CmkManager } from './domain/keys/cmk-manager.js';
import { CryptoService } from './domain/crypto/crypto-service.js';
import { KeyHealthProbe } from './domain/keys/key-health-probe.js';
import { KmsBudget } from './domain/keys/kms-budget.js';
import { KmsBreaker } from './domain/keys/kms-breaker.js';
import { JobRunner } from './domain/jobs/job-runner.js';
import { TenantEvents, type TenantEventReason } from './domain/tenants/tenant-events.js';
import { TenantScopedCache } from './domain/tenants/tenant-scoped-cache.js';
import { RotationJobs } from './domain/keys/rotation-job.js';
import { SecretService } from './domain/secrets/secret-service.js';
import { TenantDirectory } from './domain/tenants/tenant-directory.js';
import { TenantKeyCache } from './domain/keys/tenant-key-cache.js';
import { TenantKeyService } from './domain/keys/tenant-key-service.js';
import { bootstrapAdmin } from './domain/tokens/bootstrap-admin.js';
import type { SpikeDetector } from './domain/ai/metering/spike-detector.js';
import { buildAiMetering, loadPriceTable, type AiMetering } from './domain/ai/metering/ai-metering-wiring.js';
import { TokenService } from './domain/tokens/token-service.js';
import { configureFailpoints } from './failpoints.js';
import { kmsModules } from './kms-modules.js';
import { productionWarnings } from './production-checks.js';
import type { Logger } from './logger.js';
import { createMetrics, type Metrics } from './metrics.js';

/** A built service: the app plus what must be shut down. */
export interface Service {
  app: Express;
  /** The metrics listener's app (Prometheus `/metrics` only); main.ts serves it on METRICS_HOST:METRICS_PORT. */
  metricsApp: Express;
  store: Store;
  metrics: Metrics;
  /** Set when this start created the first platform-admin token itself (print it once). */
  generatedAdminToken: string | undefined;
  /** Aggregated denial counts; close() flushes them, tests may flush earlier. */
  denials: DenialAggregator;
  /** The AI gateway's metering port (usage, costs, spend caps). */
  aiMetering: AiMetering;
  /** The AI spike detector of this instance (its job runs it on a timer; tests run it directly). */
  aiSpikes: SpikeDetector;
  close(): Promise<void>;
}

/** Options for {@link buildService} beyond the config (tests inject providers here). */
export interface BuildOptions {
  logger: Logger;
  /** Extra or replacement KMS providers (e.g. test doubles of the registry are NOT allowed; emulators are). */
  providers?: KmsProvider[];
  /** BENCH/TEST ONLY: replaces the audit writer (e.g. a no-op appender to measure the cost of auditing). */
  auditAppender?: AuditAppender;
  /** The egress guard for connections on a tenant's behalf (tests inject a resolver through it). */
  egress?: EgressGuard;
  /** TEST ONLY: the DNS resolver of the guard built from the config (`EGRESS_ALLOW_CIDRS` still applies). */
  egressResolver?: Resolver;
  /** TEST ONLY: metering of AI gateway calls in place of the real one (usage, prices, caps in PostgreSQL). */
  aiMetering?: AiMeteringPort;
  /** Options of the HTTP app (tests turn on response validation). */
  app?: AppOptions;
  /** Suspends a secret's AI use when a spike alert's tenant policy asks (the gateway owns that state). */
  suspendAiSecret?: (tenantId: string, secretName: string, reason: string) => Promise<void>;
}

/**
 * The composition root's body: open the store (PostgreSQL or embedded), migrate, build the KMS
 * registry and the services, bootstrap the first admin token, and create the app. main.ts only
 * adds listening and signals.
 */
export async function buildService(config: Config, opts: BuildOptions): Promise<Service> {
  const { logger } = opts;
  configureFailpoints(config.failpoints);
  for (const warning of productionWarnings(config))
    logger.warn({ setting: warning.split(/[=:]/)[0] }, warning);
  useEnvelopeBackend(config.envelopeBackend);
  // A bad AI_PRICES_FILE stops the start before anything is opened.
  const aiPrices = loadPriceTable(config.aiMetering.pricesFile);
  const store = await createPool({
    ...(config.databaseUrl
      ? { databaseUrl: config.databaseUrl }
      : { dataDir: join(config.dataDir, 'pglite') }),
    max: config.databasePoolMax,
    idleInTransactionTimeoutMs: config.databaseIdleInTransactionTimeoutMs,
    logger,
  });
  let redisBuckets: RedisBuckets | undefined;
  try {
    const pool = store.pool;
    const db: Db = pool;
    await migrate(pool, { logger });
    const metrics = createMetrics();

    const onAttempt = (e: { provider: string; operation: string; outcome: string; durationMs: number }) => {
      metrics.kmsCalls.inc({ provider: e.provider, operation: e.operation, outcome: e.outcome });
      metrics.kmsDuration.observe(
        { provider: e.provider, operation: e.operation, outcome: e.outcome },
        e.durationMs / 1000,
      );
    };
    const resilient = (p: KmsProvider) =>
      withResilience(p, { timeoutMs: config.kms.timeoutMs, maxAttempts: config.kms.maxAttempts, onAttempt });
    // One guard for every connection to a host a tenant chose (vault URLs, sinks).
    const egress =
      opts.egress ??
      new EgressGuard({
        allowCidrs: config.egressAllowCidrs,
        ...(opts.egressResolver ? { resolver: opts.egressResolver } : {}),
      });
    // Injected providers first: the enabled modules then build only the names still missing.
    const registry = new KmsRegistry([], kmsModules, config.kms.modules);
    for (const p of opts.providers ?? []) registry.register(resilient(p));
    const built = await kmsModules.createProviders(
      config.kms.providers,
      config.kms.modules,
      { timeoutMs: config.kms.timeoutMs, production: config.production, dataDir: config.dataDir, egress },
      registry.names(),
    );
    let localKms: LocalKeyStore | undefined;
    for (const p of built) {
      localKms ??= localKeyStoreOf(p);
      registry.register(resilient(p));
    }

    const writer = createAuditWriter({ pool, logger, maxBatch: config.auditMaxBatch });
    const audit = new AuditRecorder(opts.auditAppender ?? writer, metrics);
    const jobs = new JobRunner(logger);
    const tx = <T>(fn: (db: Db) => Promise<T>) => withTransaction(pool, fn);
    const directory = new TenantDirectory(db, config.tenantCacheMs);
    const cache = new TenantKeyCache();
    const breaker = new KmsBreaker(config.breaker.failureThreshold, config.breaker.openMs);
    const instanceId = config.instanceId ?? `ks-${randomBytes(4).toString('hex')}`;
    // With RATE_LIMIT_REDIS_URL one Redis connection holds the shared buckets: rate limits and the
    // per-tenant KMS budget (closed with the rate limiter).
    redisBuckets = config.rateLimit.redisUrl
      ? new RedisBuckets(config.rateLimit.redisUrl, logger)
      : undefined;
    let events: TenantEvents | undefined = undefined;
    const tenantKeys = new TenantKeyService({
      db,
      withTransaction: tx,
      registry,
      cache,
      directory,
      audit,
      metrics,
      logger,
      breaker,
      budget: new KmsBudget(config.kms.callsPerTenantPerSec, Date.now, redisBuckets),
      onRevocation: (tenantId) => void events?.publish(tenantId, 'revoked'),
    });
    const crypto = new CryptoService(tenantKeys, audit);
    // Per-instance caches of the gateway's hot path (no key material: sealed rows and cap scopes),
    // dropped on every instance by tenant events; the TTL bounds staleness if an event is missed.
    const aiRows = new TenantScopedCache<SecretAiRow | undefined>({
      ttlMs: config.ai.cacheMs,
      maxEntries: 10_000,
    });
    const aiCapScopes = new TenantScopedCache<ReadonlySet<string>>({
      ttlMs: config.ai.cacheMs,
      maxEntries: 10_000,
    });
    const publish = (tenantId: string, reason: TenantEventReason) =>
      events ? events.publish(tenantId, reason) : Promise.resolve();
    const secrets = new SecretService(db, tx, tenantKeys, crypto, audit, (tenantId) =>
      publish(tenantId, 'secrets'),
    );
    const tokens = new TokenService(db, config.tokenCacheSeconds);
    events = new TenantEvents({
      // The embedded database serves one instance only: nothing to hear from (and PGlite's socket
      // server does not carry notifications between connections).
      ...(store.kind === 'postgres' ? { listenUrl: store.databaseUrl } : {}),
      db,
      instanceId,
      logger,
      onTenant: (e) => {
        // Every event drops the tenant's cached gateway rows: cheap, and never stale after a change.
        aiRows.invalidate(e.tenantId);
        aiCapScopes.invalidate(e.tenantId);
        if (e.reason === 'secrets' || e.reason === 'ai-caps') return;
        if (e.reason === 'rate-limit') return directory.invalidate(e.tenantId);
        tenantKeys.purge(e.tenantId);
        metrics.tenantPurges.inc({ reason: e.reason });
        if (e.reason === 'deleted' || e.reason === 'tokens') tokens.forgetAll();
      },
      onResync: () => {
        aiRows.clear();
        aiCapScopes.clear();
        cache.purgeAll();
        metrics.tenantPurges.inc({ reason: 'resync' });
        directory.invalidateAll();
        tokens.forgetAll();
      },
    });
    await events.start();
    const probe = new KeyHealthProbe({
      intervalMs: config.healthProbeIntervalSeconds * 1000,
      cache,
      directory,
      registry,
      tenantKeys,
      audit,
      logger,
    });
    jobs.add(probe.task());
    const cmk = new CmkManager({ db, withTransaction: tx, registry, directory, audit, tenantKeys });
    const rotation = new RotationJobs({
      db,
      withTransaction: tx,
      tenantKeys,
      cmk,
      directory,
      audit,
      logger,
      jobs,
      batchSize: config.jobs.batchSize,
      pollMs: config.jobs.pollMs,
      leaseMs: config.jobs.leaseMs,
      retryBaseMs: config.jobs.retryMs,
      retryMaxMs: 60_000,
      instanceId,
    });
    rotation.start();

    const generatedAdminToken = await bootstrapAdmin({ config, db, tokens, audit, logger });

    const auditQueries: AuditQueries = {
      query: async (filters, cursor, limit) => {
        const page = await queryEvents(pool, filters, cursor, limit);
        return {
          events: page.events.map((e) => ({ ...e, at: e.at.toISOString() })),
          nextCursor: page.nextCursor,
        };
      },
      verify: (chain) => verifyChain(pool, chain),
    };

    const denialWindowMs = 1000 * (config.auditDenialWindowSeconds ?? (config.production ? 60 : 0));
    const denials = new DenialAggregator(audit, denialWindowMs, logger);
    if (denialWindowMs > 0)
      jobs.add({
        name: 'denial-aggregator',
        schedule: { kind: 'interval', everyMs: Math.min(denialWindowMs, 10_000) },
        run: () => denials.flushDue(),
      });
    const ai = buildAiMetering({
      settings: config.aiMetering,
      prices: aiPrices,
      db,
      audit,
      jobs,
      logger,
      // A spike with autoSuspend set suspends the secret's AI use (the gateway then answers 423
      // without calling upstream) until a new version is stored.
      suspendSecret:
        opts.suspendAiSecret ??
        (async (tenantId, secretName, reason) => {
          await setSecretAiState(db, tenantId, secretName, 'suspended', reason);
          await publish(tenantId, 'secrets');
        }),
      capScopes: (tenantId) =>
        aiCapScopes.get(tenantId, '', async () => new Set(await aiUsageRepository.capScopes(db, tenantId))),
      capsChanged: (tenantId) => publish(tenantId, 'ai-caps'),
    });
    const limits = resolveRateLimits(config.rateLimit, config.production);
    const rateLimiter = new RateLimiter(limits, redisBuckets ?? new MemoryBuckets());
    const auditSecurity = await startAuditSecurity({
      config,
      pool,
      logger,
      jobs,
      audit,
      egress,
    });
    const aiUpstream = new UpstreamClient(egress, {
      responseMs: config.ai.responseTimeoutMs,
      idleMs: config.ai.idleTimeoutMs,
    });
    const aiGateway = new AiGatewayService({
      db,
      audit,
      crypto,
      secrets,
      metering: opts.aiMetering ?? ai.metering,
      upstream: aiUpstream,
      logger,
      upstreamUrls: {
        openai: config.ai.openaiUrl,
        anthropic: config.ai.anthropicUrl,
        google: config.ai.googleUrl,
        'azure-openai': config.ai.azureOpenaiUrl,
      },
      rows: aiRows,
      metrics,
      secretChanged: (tenantId) => publish(tenantId, 'secrets'),
    });
    const app = createApp(
      {
        db,
        withTransaction: tx,
        logger,
        metrics,
        tokens,
        directory,
        tenantKeys,
        cmk,
        crypto,
        secrets,
        audit,
        auditQueries,
        auditSecurity,
        rotation,
        registry,
        kmsModuleConfigs: config.kms.modules,
        localKms,
        bodyLimitBytes: config.bodyLimitBytes,
        auditExport: { perTenant: config.audit.exportsPerTenant, deadlineMs: config.audit.exportDeadlineMs },
        serviceTokensNeedClientCertificate: config.tls.clientCaFile !== undefined,
        publishTenantEvent: publish,
        ping: () => ping(pool),
        rateLimiter,
        denials,
        trustProxy: config.trustProxy,
        aiBudgets: ai.budgets,
        aiGateway,
      },
      opts.app,
    );

    return {
      app,
      metricsApp: createMetricsApp({ metrics, logger }),
      store,
      metrics,
      generatedAdminToken,
      denials,
      aiMetering: ai.metering,
      aiSpikes: ai.spikes,
      async close() {
        await jobs.stop();
        await denials.flushAll();
        await ai.metering.close();
        await rateLimiter.close();
        await aiUpstream.close();
        await events?.stop();
        cache.close();
        await writer.close();
        await store.close();
      },
    };
  } catch (err) {
    await redisBuckets?.close().catch(() => undefined);
    await store.close().catch(() => undefined);
    throw err;
  }
}
