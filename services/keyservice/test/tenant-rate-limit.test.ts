import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createTestDatabase, type TestDatabase } from '@byok/store/testing';
import { expectProblem, sql } from './acceptance-helpers.js';
import { startTestService, type TestService } from './harness.js';

type Tokens = Awaited<ReturnType<TestService['tenant']>>;

// Redis buckets outlive a test run: every run uses tenant ids of its own.
const run = Math.random().toString(36).slice(2, 8);

/** How many of `n` calls succeed; every other answer must be 429 RATE_LIMITED. */
async function successes(n: number, once: () => ReturnType<TestService['call']>): Promise<number> {
  let ok = 0;
  for (let i = 0; i < n; i++) {
    const r = await once();
    if (r.status === 200) ok += 1;
    else expectProblem(r, 429, 'RATE_LIMITED');
  }
  return ok;
}

async function until(what: string, fn: () => Promise<boolean>, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

// Default per-tenant bucket: 30 requests, then (almost) nothing.
const limits = { RATE_LIMIT_TENANT_RPS: '0.01', RATE_LIMIT_TENANT_BURST: '30' };

describe('per-tenant rate-limit overrides set by the platform admin (memory buckets)', () => {
  let s: TestService;
  let raised: Tokens;
  let lowered: Tokens;
  let other: Tokens;
  const path = (t: string) => `/v1/tenants/${t}/rate-limit`;
  beforeAll(async () => {
    s = await startTestService({ env: limits });
    raised = await s.tenant('ov-up');
    lowered = await s.tenant('ov-down');
    other = await s.tenant('ov-other');
  });
  afterAll(() => s.close());

  const list = (token: string, t: string) => () => s.call('GET', `/v1/tenants/${t}/secrets`, { token });

  it('reads the default until an override is set; the tenant admin may read it', async () => {
    const r = await s.call('GET', path('ov-up'), { token: raised.admin });
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ tenantId: 'ov-up', rps: 0.01, burst: 30, override: false });
  });

  it('an override raises the tenant limit: 60 requests pass where the default allows 30', async () => {
    const put = await s.call('PUT', path('ov-up'), { token: s.adminToken, body: { rps: 1000, burst: 1000 } });
    expect(put.status).toBe(200);
    expect(put.body).toEqual({ tenantId: 'ov-up', rps: 1000, burst: 1000, override: true });
    expect(await successes(60, list(raised.service, 'ov-up'))).toBe(60);
    // The same traffic on a tenant without an override is cut at its default burst.
    expect(await successes(60, list(other.service, 'ov-other'))).toBeLessThanOrEqual(30);
  });

  it('an override lowers the tenant limit, and clearing it restores the default', async () => {
    const put = await s.call('PUT', path('ov-down'), { token: s.adminToken, body: { rps: 1, burst: 3 } });
    expect(put.status).toBe(200);
    const ok = await successes(12, list(lowered.service, 'ov-down'));
    // 3 at once plus what one request per second refills while the 12 calls run (a wide margin).
    expect(ok).toBeGreaterThanOrEqual(3);
    expect(ok).toBeLessThan(9);
    const cleared = await s.call('DELETE', path('ov-down'), { token: s.adminToken });
    expect(cleared.body).toEqual({ tenantId: 'ov-down', rps: 0.01, burst: 30, override: false });
    // Cleared the raised tenant too: it is back under the default (its bucket is nearly empty).
    await s.call('DELETE', path('ov-up'), { token: s.adminToken });
    expect(await successes(40, list(raised.service, 'ov-up'))).toBeLessThanOrEqual(30);
  });

  it('audits each change as tenant.rate-limit.set in the tenant chain', async () => {
    const rows = await sql<{ details: Record<string, unknown>; outcome: string }>(
      s,
      `SELECT details, outcome FROM audit_events WHERE tenant_id = 'ov-down' AND action = 'tenant.rate-limit.set'
        ORDER BY seq`,
    );
    expect(rows.map((r) => r.details)).toEqual([
      { rps: '1', burst: 3, newState: 'override' },
      { newState: 'default' },
    ]);
  });

  it('refuses bad input with 400 VALIDATION_FAILED and changes nothing', async () => {
    await s.call('PUT', path('ov-other'), { token: s.adminToken, body: { rps: 50, burst: 100 } });
    for (const body of [
      { rps: 0, burst: 10 },
      { rps: -1, burst: 10 },
      { rps: 0.0001, burst: 10 },
      { rps: 5, burst: 1.5 },
      { rps: '5', burst: 10 },
      { rps: 5 },
      { burst: 5 },
      { rps: 5, burst: 0 },
      { rps: 5, burst: 2_000_000 },
      { rps: 5, burst: 10, extra: true },
      [],
    ]) {
      const r = await s.call('PUT', path('ov-other'), { token: s.adminToken, body });
      expectProblem(r, 400, 'VALIDATION_FAILED');
    }
    const raw = await s.call('PUT', path('ov-other'), { token: s.adminToken, raw: '{"rps":' });
    expect(raw.status).toBe(400);
    const now = await s.call('GET', path('ov-other'), { token: s.adminToken });
    expect(now.body).toEqual({ tenantId: 'ov-other', rps: 50, burst: 100, override: true });
  });

  it("a tenant admin or a service cannot set or clear it; another tenant's admin cannot read it", async () => {
    for (const token of [other.admin, other.service]) {
      expectProblem(
        await s.call('PUT', path('ov-other'), { token, body: { rps: 100000, burst: 100000 } }),
        403,
        'FORBIDDEN',
      );
      expectProblem(await s.call('DELETE', path('ov-other'), { token }), 403, 'FORBIDDEN');
    }
    expectProblem(await s.call('GET', path('ov-other'), { token: raised.admin }), 403, 'FORBIDDEN');
    expectProblem(await s.call('GET', path('ov-other'), { token: other.service }), 403, 'FORBIDDEN');
    const now = await s.call('GET', path('ov-other'), { token: other.admin });
    expect(now.body).toEqual({ tenantId: 'ov-other', rps: 50, burst: 100, override: true });
  });

  it('the platform admin can change the limit of a tenant that spent its whole budget', async () => {
    const low = await s.call('PUT', path('ov-other'), { token: s.adminToken, body: { rps: 0.01, burst: 1 } });
    expect(low.status).toBe(200);
    await successes(5, list(other.service, 'ov-other'));
    expectProblem(await list(other.service, 'ov-other')(), 429, 'RATE_LIMITED');
    const r = await s.call('PUT', path('ov-other'), {
      token: s.adminToken,
      body: { rps: 1000, burst: 1000 },
    });
    expect(r.status).toBe(200);
    expect((await list(other.service, 'ov-other')()).status).toBe(200);
  });
});

describe('overrides reach every instance (tenant events), in memory and through Redis', () => {
  let db: TestDatabase;
  let one: TestService;
  let two: TestService;
  let t: Tokens;
  const id = `ovr-${run}`;
  // A tenant cache (10 s) longer than the wait (5 s): only the tenant event can carry the change.
  const env = { ...limits, TENANT_CACHE_MS: '10000', RATE_LIMIT_REDIS_URL: 'redis://127.0.0.1:6379' };
  beforeAll(async () => {
    db = await createTestDatabase();
    one = await startTestService({ sharedDb: db, env });
    two = await startTestService({ sharedDb: db, env });
    t = await one.tenant(id);
  });
  afterAll(async () => {
    await one?.close();
    await two?.close();
    await db?.drop();
  });

  it('an override set on one instance applies on the other, and both share the one lowered budget', async () => {
    if (db.kind !== 'postgres') return; // PGlite serves one instance: nothing to propagate
    // Instance two caches the tenant (no override) first.
    expect((await two.call('GET', `/v1/tenants/${id}/rate-limit`, { token: t.admin })).body.override).toBe(
      false,
    );
    const put = await one.call('PUT', `/v1/tenants/${id}/rate-limit`, {
      token: one.adminToken,
      body: { rps: 0.01, burst: 6 },
    });
    expect(put.status).toBe(200);
    await until('instance two sees the override', async () => {
      const r = await two.call('GET', `/v1/tenants/${id}/rate-limit`, { token: t.admin });
      return r.body?.override === true;
    });
    let i = 0;
    const ok = await successes(20, () =>
      (i++ % 2 === 0 ? one : two).call('GET', `/v1/tenants/${id}/secrets`, { token: t.service }),
    );
    // One shared bucket of 6 (clamped from what setup left of the default 30), not 6 per instance.
    expect(ok).toBe(6);
  });
});
