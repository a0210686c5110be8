import client from 'prom-client';

/** Prometheus metrics of one service instance (its own registry, so tests can build many apps). */
export interface Metrics {
  registry: client.Registry;
  httpDuration: client.Histogram<'method' | 'route' | 'status'>;
  kmsDuration: client.Histogram<'provider' | 'operation' | 'outcome'>;
  kmsCalls: client.Counter<'provider' | 'operation' | 'outcome'>;
  cacheEvents: client.Counter<'result'>;
  auditWriteDuration: client.Histogram<'outcome'>;
  tenantPurges: client.Counter<'reason'>;
  aiCalls: client.Counter<'provider' | 'outcome'>;
  aiCallDuration: client.Histogram<'provider' | 'stream'>;
  aiTokens: client.Counter<'provider' | 'kind'>;
  aiCostMicros: client.Counter<'provider'>;
}

/** Creates the metric set with default process metrics. */
export function createMetrics(): Metrics {
  const registry = new client.Registry();
  client.collectDefaultMetrics({ register: registry });
  const buckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
  return {
    registry,
    httpDuration: new client.Histogram({
      name: 'byok_http_request_duration_seconds',
      help: 'HTTP request latency by route template and status',
      labelNames: ['method', 'route', 'status'],
      buckets,
      registers: [registry],
    }),
    kmsDuration: new client.Histogram({
      name: 'byok_kms_call_duration_seconds',
      help: 'KMS call latency by provider, operation and outcome',
      labelNames: ['provider', 'operation', 'outcome'],
      buckets,
      registers: [registry],
    }),
    kmsCalls: new client.Counter({
      name: 'byok_kms_calls_total',
      help: 'KMS calls by provider, operation and outcome',
      labelNames: ['provider', 'operation', 'outcome'],
      registers: [registry],
    }),
    cacheEvents: new client.Counter({
      name: 'byok_tenant_key_cache_total',
      help: 'Tenant-key cache lookups by result (hit, miss, expired)',
      labelNames: ['result'],
      registers: [registry],
    }),
    auditWriteDuration: new client.Histogram({
      name: 'byok_audit_write_duration_seconds',
      help: 'Time from audit record() to its commit, by outcome',
      labelNames: ['outcome'],
      buckets,
      registers: [registry],
    }),
    tenantPurges: new client.Counter({
      name: 'byok_tenant_purges_total',
      help: 'Cache purges applied on this instance, by reason (resync = everything, after a listener (re)connect)',
      labelNames: ['reason'],
      registers: [registry],
    }),
    // AI gateway (no tenant or secret labels: those are in the audit log and GET /usage).
    aiCalls: new client.Counter({
      name: 'byok_ai_calls_total',
      help: 'AI gateway calls by provider and outcome (ok, upstream_4xx, upstream_5xx, or the refusal or failure code)',
      labelNames: ['provider', 'outcome'],
      registers: [registry],
    }),
    aiCallDuration: new client.Histogram({
      name: 'byok_ai_call_duration_seconds',
      help: 'AI gateway calls that reached the provider: time from the request to the end of the answer',
      labelNames: ['provider', 'stream'],
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300],
      registers: [registry],
    }),
    aiTokens: new client.Counter({
      name: 'byok_ai_tokens_total',
      help: 'Tokens the AI providers reported, by kind (input includes cached_input)',
      labelNames: ['provider', 'kind'],
      registers: [registry],
    }),
    aiCostMicros: new client.Counter({
      name: 'byok_ai_cost_micros_total',
      help: 'Metered AI spend in micro-dollars (priced calls only)',
      labelNames: ['provider'],
      registers: [registry],
    }),
  };
}
