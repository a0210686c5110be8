import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createAuditWriter, type AuditWriter } from '@byok/audit';
import {
  aiUsageRepository,
  createPool,
  migrate,
  startEmbeddedPostgres,
  tenantRepository,
  type Store,
} from '@byok/store';
import { createTestDatabase, type TestDatabase } from '@byok/store/testing';
import { AuditRecorder } from '../src/domain/audit/audit-recorder.js';
import { createAiMetering, type AiMetering } from '../src/domain/ai/metering/ai-metering.js';
import { costMicros, PriceTable } from '../src/domain/ai/metering/price-table.js';
import type { AiCall } from '../src/domain/ai/metering-port.js';
import { createLogger } from '../src/logger.js';
import { createMetrics } from '../src/metrics.js';

// Two instances: each its own pool, audit writer and metering, on one real PostgreSQL.
let db: TestDatabase;
const stores: Store[] = [];
const writers: AuditWriter[] = [];
let now = new Date('2026-03-10T12:00:00Z');
const clock = () => now;

// $300 per million output tokens, input free: a call asking max_tokens 1000 reserves exactly $0.30.
const prices = new PriceTable({
  openai: { 'cap-model': { input: 0, output: 300_000_000 } },
  anthropic: { 'claude-test': { input: 3_000_000, cachedInput: 300_000, output: 15_000_000 } },
});

function instance(store: Store): AiMetering {
  const writer = createAuditWriter({ pool: store.pool, logger: createLogger('silent') });
  writers.push(writer);
  return createAiMetering({
    db: store.pool,
    audit: new AuditRecorder(writer, createMetrics()),
    prices,
    clock,
    defaultMaxOutputTokens: 1000,
    reservationTtlMs: 600_000,
  });
}

let a: AiMetering;
let b: AiMetering;

const call = (tenantId: string, secretName: string, over: Partial<AiCall> = {}): AiCall => ({
  tenantId,
  secretName,
  secretVersion: 1,
  provider: 'openai',
  operation: 'chat.completions',
  model: 'cap-model',
  requestBody: { max_tokens: 1000 },
  stream: false,
  ...over,
});

async function q<T = Record<string, unknown>>(sql: string, params: unknown[] = []): Promise<T[]> {
  return (await stores[0]!.pool.query(sql, params)).rows as T[];
}

const spend = async (tenantId: string, secretName = '', period = 'day') =>
  (
    await q<{ spent: string; reserved: string }>(
      `SELECT spent_micros AS spent, reserved_micros AS reserved FROM ai_spend
        WHERE tenant_id = $1 AND secret_name = $2 AND period = $3`,
      [tenantId, secretName, period],
    )
  ).map((r) => ({ spent: Number(r.spent), reserved: Number(r.reserved) }))[0];

const audited = async (tenantId: string, action: string) =>
  q<{ outcome: string; error_code: string; details: Record<string, unknown> }>(
    'SELECT outcome, error_code, details FROM audit_events WHERE chain = $1 AND action = $2 ORDER BY seq',
    [tenantId, action],
  );

beforeAll(async () => {
  db = await createTestDatabase({ require: 'postgres' });
  for (let i = 0; i < 2; i++) stores.push(await createPool({ databaseUrl: db.databaseUrl, max: 10 }));
  await migrate(stores[0]!.pool);
  for (const id of ['capco', 'usage', 'unpriced', 'stale', 'scoped'])
    await tenantRepository.create(stores[0]!.pool, { id, name: id });
  a = instance(stores[0]!);
  b = instance(stores[1]!);
});

afterAll(async () => {
  for (const w of writers) await w.close();
  for (const s of stores) await s.close();
  await db?.drop();
});

describe('spend caps across two instances', () => {
  it('a $1 cap, 20 concurrent calls reserving $0.30 each: settled spend <= $1.60, the rest 402 and audited', async () => {
    await aiUsageRepository.setBudget(stores[0]!.pool, 'capco', '', 'day', 1_000_000);
    const outcomes = await Promise.all(
      Array.from({ length: 20 }, async (_, i) => {
        const m = i % 2 === 0 ? a : b;
        const c = call('capco', `key-${i % 3}`);
        try {
          const r = await m.reserve(c);
          expect(r.reservedMicros).toBe(300_000);
          // The upstream answers after a while with between 500 and 1000 output tokens.
          await new Promise((res) => setTimeout(res, 5 + (i % 7) * 5));
          const usage = { inputTokens: 20, cachedInputTokens: 0, outputTokens: 500 + ((i * 37) % 501) };
          const { costMicros: cost } = await m.settle(r, c, { status: 200, usage, model: 'cap-model' });
          expect(cost).toBe(costMicros(prices.price('openai', 'cap-model')!, usage));
          return 'ok';
        } catch (err) {
          expect(err).toMatchObject({ code: 'BUDGET_EXCEEDED', status: 402 });
          return 'refused';
        }
      }),
    );
    const ok = outcomes.filter((o) => o === 'ok').length;
    const refused = outcomes.filter((o) => o === 'refused').length;
    const counter = await spend('capco');
    // The acceptance bound, and the stronger one that holds while no call costs more than it reserved.
    expect(counter!.spent).toBeLessThanOrEqual(1_600_000);
    expect(counter!.spent).toBeLessThanOrEqual(1_000_000);
    expect(counter!.reserved).toBe(0);
    expect(ok).toBeGreaterThanOrEqual(3);
    expect(refused).toBeGreaterThan(0);
    expect(ok + refused).toBe(20);
    const events = await audited('capco', 'ai.budget.exceeded');
    expect(events).toHaveLength(refused);
    expect(events[0]).toMatchObject({
      outcome: 'denied',
      error_code: 'BUDGET_EXCEEDED',
      details: { period: 'day', limitMicros: 1_000_000, reservedMicros: 300_000, secretName: null },
    });
    // A later call whose maximum cost exceeds what is left of the day's cap is refused, on either
    // instance, and the day's spend stays where it is. How much is left depends on how the calls
    // above interleaved (on a slow machine all 20 may ask before any settles, leaving room for one
    // more $0.30 call), so the call asks for one token more than what is left allows.
    const before = counter!.spent;
    const maxTokens = Math.max(1000, Math.floor((1_000_000 - before) / 300) + 1);
    for (const m of [a, b])
      await expect(
        m.reserve(call('capco', 'key-0', { requestBody: { max_tokens: maxTokens } })),
      ).rejects.toMatchObject({ code: 'BUDGET_EXCEEDED' });
    expect((await spend('capco'))!.spent).toBe(before);
    expect((await spend('capco'))!.reserved).toBe(0);
  });

  it('gives a released reservation back, so the next call fits', async () => {
    await aiUsageRepository.setBudget(stores[0]!.pool, 'scoped', 'narrow', 'month', 500_000);
    const r1 = await a.reserve(call('scoped', 'narrow'));
    await expect(b.reserve(call('scoped', 'narrow'))).rejects.toMatchObject({ code: 'BUDGET_EXCEEDED' });
    // Another secret of the tenant is not under that secret's cap.
    const other = await b.reserve(call('scoped', 'wide'));
    await b.release(other);
    await a.release(r1);
    await a.release(r1); // twice gives back nothing more
    expect(await spend('scoped', 'narrow', 'month')).toEqual({ spent: 0, reserved: 0 });
    const r2 = await b.reserve(call('scoped', 'narrow'));
    await b.settle(r2, call('scoped', 'narrow'), {
      status: 200,
      usage: { inputTokens: 1, cachedInputTokens: 0, outputTokens: 100 },
      model: undefined,
    });
    expect(await spend('scoped', 'narrow', 'month')).toEqual({ spent: 30_000, reserved: 0 });
    const events = await audited('scoped', 'ai.budget.exceeded');
    expect(events[0]?.details).toMatchObject({ secretName: 'narrow', period: 'month', limitMicros: 500_000 });
  });
});

describe('usage rows and cost', () => {
  it('stores the upstream usage fields and the price table arithmetic, per secret, model and day', async () => {
    const c = call('usage', 'anthropic-prod', {
      provider: 'anthropic',
      operation: 'messages',
      model: 'claude-test',
      requestBody: { max_tokens: 50 },
    });
    const obs = a.observer(c);
    obs.json({
      model: 'claude-test-20250101',
      usage: {
        input_tokens: 13,
        cache_read_input_tokens: 2803,
        cache_creation_input_tokens: 0,
        output_tokens: 25,
      },
    });
    const r = await a.reserve(c);
    // No cap applies to this tenant: the reservation holds (and locks) nothing.
    expect(await q("SELECT 1 FROM ai_reservations WHERE tenant_id = 'usage'")).toEqual([]);
    const { costMicros: cost } = await a.settle(r, c, {
      status: 200,
      usage: obs.usage(),
      model: obs.model(),
    });
    // 13 uncached at $3, 2803 cached at $0.30, 25 out at $15 per million: 39 + 840.9 + 375 = 1254.9 -> 1255.
    expect(cost).toBe(1255);
    const err = await b.reserve(c);
    await b.settle(err, c, { status: 500, usage: undefined, model: undefined });
    const rows = await q(
      `SELECT secret_name, model, to_char(day, 'YYYY-MM-DD') AS day, calls, errors, unpriced_calls,
              input_tokens, cached_input_tokens, output_tokens, cost_micros
         FROM ai_usage_daily WHERE tenant_id = 'usage' ORDER BY model`,
    );
    expect(rows).toEqual([
      {
        secret_name: 'anthropic-prod',
        model: 'claude-test',
        day: '2026-03-10',
        calls: '1',
        errors: '1',
        unpriced_calls: '0',
        input_tokens: '0',
        cached_input_tokens: '0',
        output_tokens: '0',
        cost_micros: '0',
      },
      {
        secret_name: 'anthropic-prod',
        model: 'claude-test-20250101',
        day: '2026-03-10',
        calls: '1',
        errors: '0',
        unpriced_calls: '0',
        input_tokens: '2816',
        cached_input_tokens: '2803',
        output_tokens: '25',
        cost_micros: '1255',
      },
    ]);
    expect(await spend('usage', 'anthropic-prod')).toEqual({ spent: 1255, reserved: 0 });
  });

  it('charges a success whose usage never arrived its reservation, never zero', async () => {
    const c = call('usage', 'streamer', { stream: true });
    const r = await a.reserve(c);
    expect(await a.settle(r, c, { status: 200, usage: undefined, model: undefined })).toEqual({
      costMicros: 300_000,
    });
  });

  it('neither reserves nor records calls that bill nothing (model listing, token counting)', async () => {
    const c = call('usage', 'lister', { operation: 'models', model: undefined });
    const r = await a.reserve(c);
    expect(r.reservedMicros).toBe(0);
    await a.settle(r, c, { status: 200, usage: undefined, model: undefined });
    expect(await q("SELECT 1 FROM ai_usage_daily WHERE secret_name = 'lister'")).toEqual([]);
  });
});

describe('unpriced models', () => {
  it('with no cap: metered as unpriced (tokens kept, no cost), never as free spend', async () => {
    const c = call('unpriced', 'k', { model: 'mystery-model' });
    const r = await a.reserve(c);
    expect(r.reservedMicros).toBe(0);
    const out = await a.settle(r, c, {
      status: 200,
      usage: { inputTokens: 10, cachedInputTokens: 0, outputTokens: 5 },
      model: 'mystery-model',
    });
    expect(out.costMicros).toBeUndefined();
    const [row] = await q(
      "SELECT unpriced_calls, cost_micros, input_tokens FROM ai_usage_daily WHERE tenant_id = 'unpriced'",
    );
    expect(row).toEqual({ unpriced_calls: '1', cost_micros: '0', input_tokens: '10' });
  });

  it('with a cap: refused with MODEL_NOT_PRICED, audited, nothing reserved', async () => {
    await aiUsageRepository.setBudget(stores[0]!.pool, 'unpriced', '', 'month', 5_000_000);
    await expect(a.reserve(call('unpriced', 'k', { model: 'mystery-model' }))).rejects.toMatchObject({
      code: 'MODEL_NOT_PRICED',
      status: 422,
    });
    expect(await audited('unpriced', 'ai.model.unpriced')).toEqual([
      {
        outcome: 'denied',
        error_code: 'MODEL_NOT_PRICED',
        details: { secretName: 'k', model: 'mystery-model' },
      },
    ]);
    expect(await q("SELECT 1 FROM ai_reservations WHERE tenant_id = 'unpriced'")).toEqual([]);
  });
});

describe('stale reservations', () => {
  it("expire: the sweep gives a crashed instance's reservation back once, and a late settle still counts the spend", async () => {
    await aiUsageRepository.setBudget(stores[0]!.pool, 'stale', '', 'day', 400_000);
    const lost = await a.reserve(call('stale', 'k'));
    await expect(b.reserve(call('stale', 'k'))).rejects.toMatchObject({ code: 'BUDGET_EXCEEDED' });
    // Not yet expired: nothing swept.
    expect(await b.sweepExpired()).toBe(0);
    const saved = now;
    now = new Date(saved.getTime() + 600_001);
    try {
      const [n1, n2] = await Promise.all([a.sweepExpired(), b.sweepExpired()]);
      expect(n1 + n2).toBe(1);
      expect(await spend('stale')).toEqual({ spent: 0, reserved: 0 });
    } finally {
      now = saved;
    }
    const next = await b.reserve(call('stale', 'k'));
    await b.release(next);
    // The instance that "crashed" comes back and settles: its cost is spent, nothing is given back twice.
    await a.settle(lost, call('stale', 'k'), {
      status: 200,
      usage: { inputTokens: 0, cachedInputTokens: 0, outputTokens: 1000 },
      model: 'cap-model',
    });
    expect(await spend('stale')).toEqual({ spent: 300_000, reserved: 0 });
  });
});

describe('on embedded PGlite (one connection)', () => {
  it('reserves, refuses past the cap, settles and releases as on PostgreSQL', async () => {
    const server = await startEmbeddedPostgres();
    const store = await createPool({ databaseUrl: server.databaseUrl, max: 1 });
    const writer = createAuditWriter({ pool: store.pool, logger: createLogger('silent') });
    try {
      await migrate(store.pool);
      await tenantRepository.create(store.pool, { id: 'lite', name: 'lite' });
      await aiUsageRepository.setBudget(store.pool, 'lite', '', 'day', 1_000_000);
      const m = createAiMetering({
        db: store.pool,
        audit: new AuditRecorder(writer, createMetrics()),
        prices,
        clock,
        defaultMaxOutputTokens: 1000,
        reservationTtlMs: 600_000,
      });
      const results = await Promise.allSettled(Array.from({ length: 6 }, () => m.reserve(call('lite', 'k'))));
      const held = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
      expect(held).toHaveLength(3);
      expect(results.filter((r) => r.status === 'rejected')).toHaveLength(3);
      await m.release(held[0]!);
      for (const r of held.slice(1))
        await m.settle(r, call('lite', 'k'), {
          status: 200,
          usage: { inputTokens: 0, cachedInputTokens: 0, outputTokens: 1000 },
          model: 'cap-model',
        });
      const { rows } = await store.pool.query(
        "SELECT spent_micros, reserved_micros FROM ai_spend WHERE tenant_id = 'lite' AND secret_name = '' AND period = 'day'",
      );
      expect(rows).toEqual([{ spent_micros: '600000', reserved_micros: '0' }]);
    } finally {
      await writer.close();
      await store.close();
      await server.stop();
    }
  });
});
