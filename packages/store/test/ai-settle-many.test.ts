import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import {
  aiUsageRepository,
  createPool,
  migrate,
  tenantRepository,
  type AiUsageRecord,
  type Store,
} from '../src/index.js';
import { createTestDatabase, type TestDatabase } from '../src/testing.js';

// ai_settle_many (migration 0014) must leave exactly what ai_settle, call by call, leaves: the same
// counters (spent and reserved), daily and hourly usage, and no reservation behind. Two tenants get
// the same calls; one is settled call by call, the other in random batches.

let db: TestDatabase;
let store: Store;

beforeAll(async () => {
  db = await createTestDatabase();
  store = await createPool(
    db.kind === 'postgres'
      ? { databaseUrl: db.databaseUrl, max: 2 }
      : { databaseUrl: db.databaseUrl, max: 1 },
  );
  await migrate(store.pool);
});
afterAll(async () => {
  await store?.close();
  await db?.drop();
});

interface Call {
  secret: 's1' | 's2';
  model: 'm1' | 'm2';
  /** Held by a reservation (a cap applied), swept before settling, or never reserved. */
  reservation: 'held' | 'swept' | 'none';
  amount: number;
  cost: number | undefined;
  error: boolean;
  dayShift: 0 | 1;
  input: number;
  output: number;
}

const call = fc.record<Call>({
  secret: fc.constantFrom('s1', 's2'),
  model: fc.constantFrom('m1', 'm2'),
  reservation: fc.constantFrom('held', 'swept', 'none'),
  amount: fc.integer({ min: 0, max: 5_000 }),
  cost: fc.option(fc.integer({ min: 0, max: 5_000 }), { nil: undefined }),
  error: fc.boolean(),
  dayShift: fc.constantFrom(0, 1),
  input: fc.integer({ min: 0, max: 1_000 }),
  output: fc.integer({ min: 0, max: 1_000 }),
});

let run = 0;

async function snapshot(tenantId: string) {
  const q = async (sql: string) =>
    (await store.pool.query(sql, [tenantId])).rows.map((r) => JSON.stringify({ ...r, tenant_id: undefined }));
  return {
    spend: await q(
      'SELECT tenant_id, secret_name, period, window_start::text, spent_micros, reserved_micros FROM ai_spend WHERE tenant_id = $1 ORDER BY 2, 3, 4',
    ),
    daily: await q(
      'SELECT tenant_id, secret_name, model, day::text, calls, errors, unpriced_calls, input_tokens, cached_input_tokens, output_tokens, cost_micros FROM ai_usage_daily WHERE tenant_id = $1 ORDER BY 2, 3, 4',
    ),
    hourly: await q(
      'SELECT tenant_id, secret_name, hour::text, calls, cost_micros FROM ai_usage_hourly WHERE tenant_id = $1 ORDER BY 2, 3',
    ),
    reservations: await q('SELECT tenant_id, count(*) FROM ai_reservations WHERE tenant_id = $1 GROUP BY 1'),
  };
}

describe('ai_settle_many', () => {
  it('leaves the counters, usage rows and reservations exactly as ai_settle call by call does', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(call, { minLength: 1, maxLength: 12 }),
        fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 12, maxLength: 12 }),
        async (calls, cuts) => {
          run += 1;
          const tenants = [`seq-${run}`, `batch-${run}`];
          for (const id of tenants) await tenantRepository.create(store.pool, { id, name: id });
          // A cap on the tenant so ai_reserve holds; reservations made the same way for both tenants.
          for (const id of tenants)
            await aiUsageRepository.setBudget(store.pool, id, '', 'month', 1_000_000_000);
          const items = new Map<string, { reservationId: string; usage: AiUsageRecord }[]>();
          for (const tenantId of tenants) {
            const list: { reservationId: string; usage: AiUsageRecord }[] = [];
            for (const [i, c] of calls.entries()) {
              const day = c.dayShift ? '2026-12-02' : '2026-12-01';
              const reservationId = `${tenantId}-r${i}`;
              if (c.reservation !== 'none') {
                const hit = await aiUsageRepository.reserve(store.pool, {
                  id: reservationId,
                  tenantId,
                  secretName: c.secret,
                  day: '2026-12-01',
                  month: '2026-12-01',
                  amountMicros: c.amount,
                  now: new Date('2026-12-01T10:00:00Z'),
                  expiresAt: new Date('2026-12-01T10:10:00Z'),
                });
                expect(hit).toBeUndefined();
                if (c.reservation === 'swept') await aiUsageRepository.release(store.pool, reservationId);
              }
              list.push({
                reservationId,
                usage: {
                  tenantId,
                  secretName: c.secret,
                  model: c.model,
                  day,
                  month: '2026-12-01',
                  hour: new Date(`${day}T1${c.dayShift}:00:00Z`),
                  error: c.error,
                  costMicros: c.cost,
                  inputTokens: c.input,
                  cachedInputTokens: Math.floor(c.input / 2),
                  outputTokens: c.output,
                },
              });
            }
            items.set(tenantId, list);
          }
          // The reference: ai_settle (migration 0013), one call at a time.
          for (const { reservationId: id, usage: u } of items.get(tenants[0]!)!)
            await store.pool.query(
              'SELECT ai_settle($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)',
              [
                id,
                u.tenantId,
                u.secretName,
                u.model,
                u.day,
                u.month,
                u.hour,
                u.error,
                u.costMicros ?? 0,
                u.costMicros === undefined,
                u.inputTokens,
                u.cachedInputTokens,
                u.outputTokens,
              ],
            );
          const batched = items.get(tenants[1]!)!;
          for (let at = 0, k = 0; at < batched.length; k++) {
            const n = cuts[k % cuts.length]!;
            await aiUsageRepository.settleMany(store.pool, batched.slice(at, at + n));
            at += n;
          }
          expect(await snapshot(tenants[1]!)).toEqual(await snapshot(tenants[0]!));
        },
      ),
      { numRuns: 25 },
    );
  });

  it('does nothing for an empty batch', async () => {
    await expect(aiUsageRepository.settleMany(store.pool, [])).resolves.toBeUndefined();
  });
});
