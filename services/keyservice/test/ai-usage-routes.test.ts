import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { AiCall, AiUsage } from '../src/domain/ai/metering-port.js';
import { auditCount, expectProblem, sql } from './acceptance-helpers.js';
import { startTestService, type TestService } from './harness.js';

let s: TestService;
let acme: Awaited<ReturnType<TestService['tenant']>>;
let globex: Awaited<ReturnType<TestService['tenant']>>;
const today = new Date().toISOString().slice(0, 10);

const call = (tenantId: string, secretName: string, model: string): AiCall => ({
  tenantId,
  secretName,
  secretVersion: 1,
  provider: 'openai',
  operation: 'chat.completions',
  model,
  requestBody: { max_tokens: 10 },
  stream: false,
});

/** One metered call through the service's own metering port, as the gateway makes it. */
async function meter(c: AiCall, usage: AiUsage | undefined, status = 200): Promise<number | undefined> {
  const m = s.service.aiMetering;
  const r = await m.reserve(c);
  return (await m.settle(r, c, { status, usage, model: c.model })).costMicros;
}

const budgets = async (token: string, tenantId = 'acme') =>
  s.call('GET', `/v1/tenants/${tenantId}/ai/budgets`, { token });

beforeAll(async () => {
  s = await startTestService();
  acme = await s.tenant('acme');
  globex = await s.tenant('globex');
  for (const [t, tok] of [
    ['acme', acme.service],
    ['globex', globex.service],
  ] as const)
    for (const name of ['openai-prod', 'openai-dev'])
      expect(
        (
          await s.call('PUT', `/v1/tenants/${t}/secrets/${name}`, {
            token: tok,
            body: { kind: 'openai', value: `sk-proj-${name}0123456789abcdefghijklmnop` },
          })
        ).status,
      ).toBe(201);
});

afterAll(async () => {
  await s?.close();
});

describe('spend caps over HTTP', () => {
  it('a tenant admin sets, lists and removes tenant-wide and per-secret caps, each audited', async () => {
    const put = await s.call('PUT', '/v1/tenants/acme/ai/budget', {
      token: acme.admin,
      body: { period: 'month', limitMicros: 25_000_000 },
    });
    expect(put.status).toBe(200);
    expect(put.body).toMatchObject({
      scope: 'tenant',
      period: 'month',
      limitMicros: 25_000_000,
      windowStart: `${today.slice(0, 7)}-01`,
      spentMicros: 0,
      reservedMicros: 0,
    });
    const sec = await s.call('PUT', '/v1/tenants/acme/secrets/openai-dev/budget', {
      token: acme.admin,
      body: { period: 'day', limitMicros: 1_000_000 },
    });
    expect(sec.body).toMatchObject({
      scope: 'secret',
      secretName: 'openai-dev',
      period: 'day',
      windowStart: today,
    });
    // Setting again replaces.
    await s.call('PUT', '/v1/tenants/acme/secrets/openai-dev/budget', {
      token: acme.admin,
      body: { period: 'day', limitMicros: 2_000_000 },
    });
    const list = await budgets(acme.admin);
    expect(list.status).toBe(200);
    expect(
      list.body.budgets.map((b: { secretName?: string; period: string; limitMicros: number }) => b),
    ).toEqual([
      expect.objectContaining({ scope: 'tenant', period: 'month', limitMicros: 25_000_000 }),
      expect.objectContaining({
        scope: 'secret',
        secretName: 'openai-dev',
        period: 'day',
        limitMicros: 2_000_000,
      }),
    ]);
    expect(await auditCount(s, { tenantId: 'acme', action: 'ai.budget.set', outcome: 'success' })).toBe(3);

    expect(
      (await s.call('DELETE', '/v1/tenants/acme/secrets/openai-dev/budget?period=day', { token: acme.admin }))
        .status,
    ).toBe(204);
    expectProblem(
      await s.call('DELETE', '/v1/tenants/acme/secrets/openai-dev/budget?period=day', { token: acme.admin }),
      404,
      'NOT_FOUND',
    );
    expect(await auditCount(s, { tenantId: 'acme', action: 'ai.budget.remove', outcome: 'success' })).toBe(1);
    expect((await budgets(acme.admin)).body.budgets).toHaveLength(1);
  });

  it('shows the spend of the current window next to each cap', async () => {
    await s.call('PUT', '/v1/tenants/acme/secrets/openai-prod/budget', {
      token: acme.admin,
      body: { period: 'day', limitMicros: 10_000_000 },
    });
    const cost = await meter(call('acme', 'openai-prod', 'gpt-4o'), {
      inputTokens: 1000,
      cachedInputTokens: 0,
      outputTokens: 100,
    });
    // 1000 x $2.50 + 100 x $10 per million = 3500 micro-dollars.
    expect(cost).toBe(3500);
    const b = (await budgets(acme.admin)).body.budgets as { secretName?: string; spentMicros: number }[];
    expect(b.find((x) => x.secretName === 'openai-prod')?.spentMicros).toBe(3500);
    await s.call('DELETE', '/v1/tenants/acme/secrets/openai-prod/budget?period=day', { token: acme.admin });
  });

  it('refuses bad bodies and queries with 400 and changes nothing', async () => {
    const before = (await budgets(acme.admin)).body;
    for (const body of [
      { period: 'week', limitMicros: 1 },
      { period: 'day', limitMicros: -1 },
      { period: 'day', limitMicros: 1.5 },
      { period: 'day', limitMicros: '100' },
      { period: 'day', limitMicros: 2 ** 60 },
      { period: 'day' },
      { period: 'day', limitMicros: 1, extra: true },
    ]) {
      const r = await s.call('PUT', '/v1/tenants/acme/ai/budget', { token: acme.admin, body });
      expectProblem(r, 400, 'VALIDATION_FAILED');
    }
    expectProblem(
      await s.call('PUT', '/v1/tenants/acme/ai/budget', { token: acme.admin, raw: '{"period":' }),
      400,
      'MALFORMED_REQUEST',
    );
    expectProblem(
      await s.call('DELETE', '/v1/tenants/acme/ai/budget', { token: acme.admin }),
      400,
      'VALIDATION_FAILED',
    );
    expectProblem(
      await s.call('DELETE', '/v1/tenants/acme/ai/budget?period=year', { token: acme.admin }),
      400,
      'VALIDATION_FAILED',
    );
    expectProblem(
      await s.call('PUT', '/v1/tenants/acme/secrets/no-such-secret/budget', {
        token: acme.admin,
        body: { period: 'day', limitMicros: 1 },
      }),
      404,
      'NOT_FOUND',
    );
    expect((await budgets(acme.admin)).body).toEqual(before);
  });

  it("denies other tenants' admins, services and auditors, and changes nothing", async () => {
    const before = await sql(s, 'SELECT * FROM ai_budgets ORDER BY tenant_id, secret_name, period');
    for (const token of [globex.admin, acme.service, acme.auditor, s.adminToken]) {
      expectProblem(
        await s.call('PUT', '/v1/tenants/acme/ai/budget', { token, body: { period: 'day', limitMicros: 0 } }),
        403,
        'FORBIDDEN',
      );
      expectProblem(
        await s.call('DELETE', '/v1/tenants/acme/ai/budget?period=month', { token }),
        403,
        'FORBIDDEN',
      );
      expectProblem(
        await s.call('PUT', '/v1/tenants/acme/secrets/openai-prod/budget', {
          token,
          body: { period: 'day', limitMicros: 0 },
        }),
        403,
        'FORBIDDEN',
      );
    }
    for (const token of [globex.admin, acme.service, acme.auditor, globex.auditor]) {
      expectProblem(await budgets(token), 403, 'FORBIDDEN');
      expectProblem(await s.call('GET', '/v1/tenants/acme/usage', { token }), 403, 'FORBIDDEN');
    }
    expect(await sql(s, 'SELECT * FROM ai_budgets ORDER BY tenant_id, secret_name, period')).toEqual(before);
    expect(
      await auditCount(s, { tenantId: 'acme', action: 'ai.budget.write', outcome: 'denied' }),
    ).toBeGreaterThan(0);
  });
});

describe('the usage report', () => {
  beforeAll(async () => {
    const u = (inputTokens: number, outputTokens: number, cachedInputTokens = 0) => ({
      inputTokens,
      outputTokens,
      cachedInputTokens,
    });
    await meter(call('globex', 'openai-prod', 'gpt-4o-mini'), u(1000, 1000));
    await meter(call('globex', 'openai-prod', 'gpt-4o-mini'), u(2000, 0, 1000));
    await meter(call('globex', 'openai-prod', 'gpt-4.1'), u(500, 500));
    await meter(call('globex', 'openai-dev', 'gpt-4o-mini'), undefined, 429);
  });

  const report = async (query: string, token = globex.admin) =>
    s.call('GET', `/v1/tenants/globex/usage${query}`, { token });

  it('groups by model with the price table arithmetic, and totals', async () => {
    const r = await report('?groupBy=model');
    expect(r.status).toBe(200);
    expect(r.body.from <= today && r.body.to === today).toBe(true);
    // gpt-4o-mini: (1000 x 0.15 + 1000 x 0.60) + (1000 x 0.15 + 1000 x 0.075) = 750 + 225 micro-dollars;
    // gpt-4.1: 500 x 2 + 500 x 8 = 5000. The 429 counts as a call and an error, at no cost.
    expect(r.body.groups).toEqual([
      {
        key: 'gpt-4.1',
        calls: 1,
        errors: 0,
        unpricedCalls: 0,
        inputTokens: 500,
        cachedInputTokens: 0,
        outputTokens: 500,
        costMicros: 5000,
      },
      {
        key: 'gpt-4o-mini',
        calls: 3,
        errors: 1,
        unpricedCalls: 0,
        inputTokens: 3000,
        cachedInputTokens: 1000,
        outputTokens: 1000,
        costMicros: 975,
      },
    ]);
    expect(r.body.total).toEqual({
      calls: 4,
      errors: 1,
      unpricedCalls: 0,
      inputTokens: 3500,
      cachedInputTokens: 1000,
      outputTokens: 1500,
      costMicros: 5975,
    });
  });

  it('groups by secret and by day (the default), within the tenant only', async () => {
    const bySecret = await report('?groupBy=secret');
    expect(bySecret.body.groups.map((g: { key: string; calls: number }) => [g.key, g.calls])).toEqual([
      ['openai-dev', 1],
      ['openai-prod', 3],
    ]);
    const byDay = await report(`?from=${today}&to=${today}`);
    expect(byDay.body.groupBy).toBe('day');
    expect(byDay.body.groups).toHaveLength(1);
    expect(byDay.body.groups[0]).toMatchObject({ key: today, calls: 4, costMicros: 5975 });
    // acme's report holds only acme's one call.
    const mine = await s.call('GET', '/v1/tenants/acme/usage?groupBy=secret', { token: acme.admin });
    expect(mine.body.total.calls).toBe(1);
    const none = await report('?from=2020-01-01&to=2020-01-31');
    expect(none.body).toMatchObject({ groups: [], total: { calls: 0, costMicros: 0 } });
  });

  it('lets the platform admin read it (no secrets in it) but not the tenant auditor', async () => {
    expect((await report('', s.adminToken)).status).toBe(200);
    expectProblem(await report('', globex.auditor), 403, 'FORBIDDEN');
  });

  it('refuses bad ranges and parameters with 400', async () => {
    for (const q of [
      '?from=2026-13-01',
      '?to=2026-02-30',
      '?from=yesterday',
      `?from=${today}&to=2020-01-01`,
      '?from=2020-01-01&to=2022-01-01',
      '?groupBy=week',
      '?groupBy=day&groupBy=model',
      '?limit=5',
    ])
      expectProblem(await report(q), 400, 'VALIDATION_FAILED');
  });
});

describe('spike policy', () => {
  it('is part of the tenant policy, validated', async () => {
    const ok = await s.call('PUT', '/v1/tenants/acme/policy', {
      token: acme.admin,
      body: { aiSpikes: { factor: 3, minSpendMicros: 500_000, autoSuspend: true } },
    });
    expect(ok.status).toBe(200);
    expect(ok.body.aiSpikes).toEqual({ factor: 3, minSpendMicros: 500_000, autoSuspend: true });
    for (const aiSpikes of [{ factor: 0 }, { minRequests: 0 }, { autoSuspend: 'yes' }, { other: 1 }])
      expectProblem(
        await s.call('PUT', '/v1/tenants/acme/policy', { token: acme.admin, body: { aiSpikes } }),
        400,
        'VALIDATION_FAILED',
      );
    expect((await s.call('GET', '/v1/tenants/acme/policy', { token: acme.admin })).body.aiSpikes).toEqual({
      factor: 3,
      minSpendMicros: 500_000,
      autoSuspend: true,
    });
  });
});

describe('start-up', () => {
  it('refuses to start with a bad AI_PRICES_FILE, naming it', async () => {
    const file = join(s.dataDir, 'prices.json');
    await writeFile(file, JSON.stringify({ openai: { 'gpt-4o': { input: 'cheap', output: 1 } } }));
    await expect(startTestService({ sharedDb: s.db, env: { AI_PRICES_FILE: file } })).rejects.toThrow(
      `AI_PRICES_FILE ${file} is invalid`,
    );
  });
});
