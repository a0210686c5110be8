import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { createAuditWriter, type AuditWriter } from '@byok/audit';
import { createPool, migrate, tenantRepository, type Store, type TenantPolicy } from '@byok/store';
import { createTestDatabase, type TestDatabase } from '@byok/store/testing';
import { AuditRecorder } from '../src/domain/audit/audit-recorder.js';
import { createAiMetering, type AiMetering } from '../src/domain/ai/metering/ai-metering.js';
import { PriceTable } from '../src/domain/ai/metering/price-table.js';
import { SpikeDetector, spikeReasons, DEFAULT_SPIKE_RULE } from '../src/domain/ai/metering/spike-detector.js';
import type { AiCall } from '../src/domain/ai/metering-port.js';
import { createLogger } from '../src/logger.js';
import { createMetrics } from '../src/metrics.js';

let db: TestDatabase;
let store: Store;
let writer: AuditWriter;
let metering: AiMetering;
let now = new Date('2026-05-20T10:15:00Z');
const clock = () => now;
const suspended: { tenantId: string; secretName: string; reason: string }[] = [];
const detectors: SpikeDetector[] = [];

// $1 per call: input free, 1000 output tokens at $1000 per million.
const prices = new PriceTable({ openai: { 'spike-model': { input: 0, output: 1_000_000_000 } } });

const call = (tenantId: string, secretName: string): AiCall => ({
  tenantId,
  secretName,
  secretVersion: 1,
  provider: 'openai',
  operation: 'chat.completions',
  model: 'spike-model',
  requestBody: { max_tokens: 1000 },
  stream: false,
});

/** `n` calls of `outputTokens` each, settled at the current clock. */
async function calls(tenantId: string, secretName: string, n: number, outputTokens = 1000): Promise<void> {
  for (let i = 0; i < n; i++) {
    const r = await metering.reserve(call(tenantId, secretName));
    await metering.settle(r, call(tenantId, secretName), {
      status: 200,
      usage: { inputTokens: 0, cachedInputTokens: 0, outputTokens },
      model: 'spike-model',
    });
  }
}

/** A baseline of `perHour` calls of $`dollars` each in every one of the 168 hours before the current one. */
async function baseline(
  tenantId: string,
  secretName: string,
  perHour: number,
  dollars: number,
): Promise<void> {
  await store.pool.query(
    `INSERT INTO ai_usage_hourly (tenant_id, secret_name, hour, calls, cost_micros)
     SELECT $1, $2, date_trunc('hour', $3::timestamptz) - make_interval(hours => h), $4, $5
       FROM generate_series(1, 168) AS h`,
    [tenantId, secretName, now, perHour, perHour * dollars * 1_000_000],
  );
}

const spikeEvents = async (tenantId: string) =>
  (
    await store.pool.query(
      "SELECT resource, details FROM audit_events WHERE chain = $1 AND action = 'ai.usage.spike' ORDER BY seq",
      [tenantId],
    )
  ).rows as { resource: string; details: Record<string, unknown> }[];

async function tenant(id: string, policy: TenantPolicy = {}): Promise<void> {
  await tenantRepository.create(store.pool, { id, name: id });
  await tenantRepository.setPolicy(store.pool, id, 60, policy);
}

function detector(): SpikeDetector {
  const d = new SpikeDetector({
    db: store.pool,
    audit: new AuditRecorder(writer, createMetrics()),
    logger: createLogger('silent'),
    clock,
    suspendSecret: async (tenantId, secretName, reason) => {
      suspended.push({ tenantId, secretName, reason });
    },
  });
  detectors.push(d);
  return d;
}

beforeAll(async () => {
  db = await createTestDatabase();
  store = await createPool({ databaseUrl: db.databaseUrl, max: db.kind === 'pglite' ? 1 : 5 });
  await migrate(store.pool);
  writer = createAuditWriter({ pool: store.pool, logger: createLogger('silent') });
  metering = createAiMetering({
    db: store.pool,
    audit: new AuditRecorder(writer, createMetrics()),
    prices,
    clock,
    defaultMaxOutputTokens: 1000,
    reservationTtlMs: 600_000,
  });
});

beforeEach(() => {
  suspended.length = 0;
});

afterAll(async () => {
  await writer?.close();
  await store?.close();
  await db?.drop();
});

describe('the spike rule', () => {
  const stats = (calls: number, costMicros: number, baselineCalls: number, baselineCostMicros: number) => ({
    tenantId: 't',
    secretName: 's',
    calls,
    costMicros,
    baselineCalls,
    baselineCostMicros,
  });

  it('needs more than k x the hourly mean AND the floor', () => {
    // Mean $1/h over 168 h: $5 is not more than 5 x $1, $5.000001 is.
    expect(spikeReasons(stats(1, 5_000_000, 168, 168_000_000), DEFAULT_SPIKE_RULE)).toEqual([]);
    expect(spikeReasons(stats(1, 5_000_001, 168, 168_000_000), DEFAULT_SPIKE_RULE)).toEqual(['spend']);
    // No history: the floor alone decides ($1 and 100 requests by default).
    expect(spikeReasons(stats(99, 999_999, 0, 0), DEFAULT_SPIKE_RULE)).toEqual([]);
    expect(spikeReasons(stats(100, 1_000_000, 0, 0), DEFAULT_SPIKE_RULE)).toEqual(['spend', 'requests']);
    // Many cheap calls: a request spike without a spend spike.
    expect(spikeReasons(stats(600, 600, 16_800, 16_800), DEFAULT_SPIKE_RULE)).toEqual(['requests']);
  });
});

describe('SpikeDetector (injected clock, real PostgreSQL)', () => {
  it('alerts once per secret and hour, across instances, on spend past k x the 7-day mean', async () => {
    await tenant('spiky');
    await baseline('spiky', 'quiet-key', 1, 1); // $1/h mean
    await baseline('spiky', 'busy-key', 1, 1);
    await calls('spiky', 'quiet-key', 3); // $3 this hour: under 5 x $1
    await calls('spiky', 'busy-key', 6); // $6 this hour: over
    const [a, b] = [detector(), detector()];
    const [ra, rb] = await Promise.all([a.run(), b.run()]);
    expect(ra + rb).toBe(1);
    expect(await a.run()).toBe(0);
    const events = await spikeEvents('spiky');
    expect(events).toEqual([
      {
        resource: 'tenants/spiky/secrets/busy-key',
        details: {
          secretName: 'busy-key',
          costMicros: 6_000_000,
          requestCount: 6,
          baselineMicros: 1_000_000,
          baselineRequests: 1,
          reason: 'spend',
        },
      },
    ]);
    expect(suspended).toEqual([]);
    // The next hour is a new hour: still spiking, a new alert.
    now = new Date('2026-05-20T11:05:00Z');
    await calls('spiky', 'busy-key', 7);
    expect(await a.run()).toBe(1);
    expect(await spikeEvents('spiky')).toHaveLength(2);
  });

  it('follows the tenant policy: its own k and floors, off switch, automatic suspension', async () => {
    now = new Date('2026-05-21T08:30:00Z');
    await tenant('strict', { aiSpikes: { factor: 2, minSpendMicros: 100_000, autoSuspend: true } });
    await tenant('off', { aiSpikes: { enabled: false } });
    await baseline('strict', 'k', 1, 1);
    await calls('strict', 'k', 3); // 3 > 2 x $1
    await calls('off', 'k', 150); // would spike by default
    expect(await detector().run()).toBe(1);
    expect(await spikeEvents('off')).toEqual([]);
    expect((await spikeEvents('strict'))[0]?.details).toMatchObject({ newState: 'suspension-requested' });
    expect(suspended).toEqual([{ tenantId: 'strict', secretName: 'k', reason: 'ai usage spike (spend)' }]);
  });

  it('gives the claim back when the audit write fails, so the next run alerts', async () => {
    now = new Date('2026-05-22T09:00:00Z');
    await tenant('flaky');
    await calls('flaky', 'k', 120, 10); // 120 requests, $1.20
    const failing = new SpikeDetector({
      db: store.pool,
      audit: new AuditRecorder(
        {
          record: async () => {
            throw Object.assign(new Error('audit down'), { code: 'AUDIT_UNAVAILABLE' });
          },
        },
        createMetrics(),
      ),
      logger: createLogger('silent'),
      clock,
    });
    await expect(failing.run()).rejects.toThrow('audit down');
    expect(await detector().run()).toBe(1);
    expect((await spikeEvents('flaky'))[0]?.details).toMatchObject({
      reason: 'spend+requests',
      requestCount: 120,
    });
  });
});
