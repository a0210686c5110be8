import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createTestDatabase, type TestDatabase } from '@byok/store/testing';
import { expectProblem, sql } from './acceptance-helpers.js';
import { startTestService, type TestService } from './harness.js';
import { MemoryBuckets, RedisBuckets } from '../src/http/rate-limit.js';
import { createLogger } from '../src/logger.js';

type Tokens = Awaited<ReturnType<TestService['tenant']>>;

/** Calls `once` until it answers 429 (at most `max` times); returns that 429 reply. */
async function exhaust(once: () => ReturnType<TestService['call']>, max: number) {
  for (let i = 0; i < max; i++) {
    const r = await once();
    if (r.status === 429) return r;
  }
  throw new Error(`no 429 within ${max} requests`);
}

describe('rate limits: token buckets per token, per tenant and per client address', () => {
  describe('per token', () => {
    let s: TestService;
    let a: Tokens;
    let b: Tokens;
    beforeAll(async () => {
      s = await startTestService({ env: { RATE_LIMIT_TOKEN_RPS: '0.01', RATE_LIMIT_TOKEN_BURST: '30' } });
      a = await s.tenant('rl-a');
      b = await s.tenant('rl-b');
    });
    afterAll(() => s.close());

    it('answers 429 RATE_LIMITED with Retry-After past the burst; another token and another tenant are unaffected', async () => {
      const list = (token: string, t: string) => s.call('GET', `/v1/tenants/${t}/secrets`, { token });
      const limited = await exhaust(() => list(a.service, 'rl-a'), 40);
      expectProblem(limited, 429, 'RATE_LIMITED');
      expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect((await list(a.service, 'rl-a')).status).toBe(429);
      expect((await list(a.admin, 'rl-a')).status).toBe(200);
      expect((await list(b.service, 'rl-b')).status).toBe(200);
    });
  });

  describe('per tenant', () => {
    let s: TestService;
    let a: Tokens;
    let b: Tokens;
    beforeAll(async () => {
      s = await startTestService({ env: { RATE_LIMIT_TENANT_RPS: '0.01', RATE_LIMIT_TENANT_BURST: '30' } });
      a = await s.tenant('rt-a');
      b = await s.tenant('rt-b');
    });
    afterAll(() => s.close());

    it("refuses every token of the exhausted tenant, not another tenant's; a foreign token's denials do not spend it", async () => {
      const list = (token: string, t: string) => s.call('GET', `/v1/tenants/${t}/secrets`, { token });
      for (let i = 0; i < 40; i++) expect((await list(b.service, 'rt-a')).status).toBe(403);
      expectProblem(await exhaust(() => list(a.service, 'rt-a'), 40), 429, 'RATE_LIMITED');
      expectProblem(await list(a.admin, 'rt-a'), 429, 'RATE_LIMITED');
      expect((await list(b.service, 'rt-b')).status).toBe(200);
    });
  });

  describe('per client address', () => {
    let s: TestService;
    beforeAll(async () => {
      s = await startTestService({ env: { RATE_LIMIT_IP_RPS: '0.01', RATE_LIMIT_IP_BURST: '10' } });
    });
    afterAll(() => s.close());

    it('refuses before authentication: an invalid token past the burst gets 429, not 401', async () => {
      const bad = () => s.call('GET', '/v1/tenants/nobody/secrets', { token: 'byok_not_a_real_token' });
      let unauthenticated = 0;
      const limited = await exhaust(async () => {
        const r = await bad();
        if (r.status === 401) unauthenticated += 1;
        return r;
      }, 20);
      expectProblem(limited, 429, 'RATE_LIMITED');
      expect(limited.headers.get('retry-after')).toMatch(/^\d+$/);
      expect(unauthenticated).toBe(10);
    });
  });

  describe('buckets shared through Redis (RATE_LIMIT_REDIS_URL)', () => {
    const logger = createLogger('error');
    const limit = { rps: 0.01, burst: 10 };
    const key = `test:${Math.random().toString(36).slice(2)}`;
    const one = new RedisBuckets('redis://127.0.0.1:6379', logger);
    const two = new RedisBuckets('redis://127.0.0.1:6379', logger);
    afterAll(async () => {
      await one.close();
      await two.close();
    });

    it('two instances share one budget; in memory each instance has its own', async () => {
      const takes = async (x: { take: MemoryBuckets['take'] }, n: number) => {
        let ok = 0;
        for (let i = 0; i < n; i++) if ((await x.take(key, limit)).ok) ok += 1;
        return ok;
      };
      expect(await takes(one, 6)).toBe(6);
      expect(await takes(two, 6)).toBe(4);
      const refused = await one.take(key, limit);
      expect(refused.ok).toBe(false);
      if (!refused.ok) expect(refused.retryAfterMs).toBeGreaterThan(1000);
      const m1 = new MemoryBuckets();
      const m2 = new MemoryBuckets();
      expect((await takes(m1, 6)) + (await takes(m2, 6))).toBe(12);
    });
  });
});

describe('denials of one token against a foreign tenant are aggregated', () => {
  let s: TestService;
  let a: Tokens;
  beforeAll(async () => {
    s = await startTestService({ env: { AUDIT_DENIAL_WINDOW_SECONDS: '60' } });
    a = await s.tenant('dn-a');
    await s.tenant('dn-b');
  });
  afterAll(() => s.close());

  it('1,000 denied requests: at most 3 audit events in the target chain, whose details.count sum to 1,000', async () => {
    for (let i = 0; i < 1000; i += 50)
      await Promise.all(
        Array.from({ length: 50 }, async () => {
          const r = await s.call('GET', '/v1/tenants/dn-b/secrets', { token: a.service });
          expect(r.status).toBe(403);
        }),
      );
    await s.service.denials.flushAll();
    const rows = await sql<{ details: { count?: number } | null }>(
      s,
      `SELECT details FROM audit_events WHERE tenant_id = 'dn-b' AND outcome = 'denied'`,
    );
    expect(rows.length).toBeGreaterThanOrEqual(1);
    expect(rows.length).toBeLessThanOrEqual(3);
    expect(rows.reduce((n, r) => n + (r.details?.count ?? 0), 0)).toBe(1000);
  });
});

describe('two service instances with RATE_LIMIT_REDIS_URL', () => {
  const env = {
    RATE_LIMIT_REDIS_URL: 'redis://127.0.0.1:6379',
    RATE_LIMIT_TOKEN_RPS: '0.01',
    RATE_LIMIT_TOKEN_BURST: '30',
  };
  let db: TestDatabase;
  let one: TestService;
  let two: TestService;
  let a: Tokens;
  beforeAll(async () => {
    db = await createTestDatabase();
    one = await startTestService({ sharedDb: db, env });
    two = await startTestService({ sharedDb: db, env });
    a = await one.tenant('rr-a');
  });
  afterAll(async () => {
    await one.close();
    await two.close();
    await db.drop();
  });

  it('share one budget per token: 30 requests in all, alternating between them, then 429 on both', async () => {
    let ok = 0;
    for (let i = 0; i < 40; i++) {
      const s = i % 2 === 0 ? one : two;
      const r = await s.call('GET', '/v1/tenants/rr-a/secrets', { token: a.service });
      if (r.status === 200) ok += 1;
      else expectProblem(r, 429, 'RATE_LIMITED');
    }
    expect(ok).toBe(30);
  });
});
