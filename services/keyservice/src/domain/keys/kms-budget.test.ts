import { afterAll, describe, expect, it } from '@jest/globals';
import { RedisBuckets } from '../../http/rate-limit.js';
import { createLogger } from '../../logger.js';
import { KmsBudget } from './kms-budget.js';

const takes = async (b: KmsBudget, tenantId: string, n: number) => {
  let ok = 0;
  for (let i = 0; i < n; i++) if (await b.take(tenantId)) ok += 1;
  return ok;
};

describe('KmsBudget', () => {
  it('allows one second of calls per tenant, then refuses; another tenant is unaffected', async () => {
    let now = 1_000_000;
    const b = new KmsBudget(5, () => now);
    expect(await takes(b, 't1', 8)).toBe(5);
    expect(await takes(b, 't2', 1)).toBe(1);
    now += 400; // 0.4 s refills 2 calls
    expect(await takes(b, 't1', 5)).toBe(2);
  });

  it('is per instance in memory: two instances allow twice the budget', async () => {
    const t = `mem-${Math.random().toString(36).slice(2)}`;
    expect((await takes(new KmsBudget(5), t, 5)) + (await takes(new KmsBudget(5), t, 5))).toBe(10);
  });

  describe('shared through Redis (RATE_LIMIT_REDIS_URL)', () => {
    const logger = createLogger('error');
    const one = new RedisBuckets('redis://127.0.0.1:6379', logger);
    const two = new RedisBuckets('redis://127.0.0.1:6379', logger);
    afterAll(async () => {
      await one.close();
      await two.close();
    });

    it('two instances spend one budget per tenant', async () => {
      const t2 = `shared-${Math.random().toString(36).slice(2)}`;
      const c = new KmsBudget(5, Date.now, one);
      const d = new KmsBudget(5, Date.now, two);
      const first = await takes(c, t2, 3);
      const second = await takes(d, t2, 5);
      expect(first).toBe(3);
      // 5 in all, plus at most one refilled while the calls ran (5 per second).
      expect(first + second).toBeGreaterThanOrEqual(5);
      expect(first + second).toBeLessThanOrEqual(6);
    });
  });
});
