import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import Anthropic from '@anthropic-ai/sdk';
import { FAKE_USAGE } from '@byok/ai-fakes';
import { GoogleGenAI } from '@google/genai';
import OpenAI from 'openai';
import { DEFAULT_PRICES } from '../src/domain/ai/metering/default-prices.js';
import { sql } from './acceptance-helpers.js';
import { eventually, KEYS, startGateway, type GatewayFixture } from './ai-gateway-harness.js';
import { startTestService, type TestService } from './harness.js';
import { describeOnRealPostgres } from '../../../test/support/real-postgres.js';

/** A test-only model: input free, $0.04 per output token (micro-dollars per million tokens). */
const CAP_MODEL = 'cap-model';
const CAP_PRICE = { input: 0, cachedInput: 0, output: 40_000_000_000 };
/** max_tokens of each capped call: a reservation of 7 x $0.04 = $0.28 (input is free). */
const CAP_MAX_TOKENS = 7;

interface Price {
  input: number;
  cachedInput: number;
  output: number;
}

/** The price table's arithmetic, done here: per-million prices, rounded up to a whole micro-dollar. */
function expectedCost(p: Price, u: Tokens): number {
  const total = (u.input - u.cached) * p.input + u.cached * p.cachedInput + u.output * p.output;
  return Math.ceil(total / 1_000_000);
}

const price = (provider: 'openai' | 'anthropic' | 'google', model: string): Price => {
  const p = DEFAULT_PRICES[provider]?.[model];
  if (!p) throw new Error(`no default price for ${provider} ${model}`);
  return { input: p.input, cachedInput: p.cachedInput ?? p.input, output: p.output };
};

interface Tokens {
  input: number;
  cached: number;
  output: number;
}

/** The usage each provider's fake reports, read as that provider's documentation says. */
const OPENAI_USAGE: Tokens = {
  input: FAKE_USAGE.inputTokens,
  cached: FAKE_USAGE.cachedInputTokens,
  output: FAKE_USAGE.outputTokens,
};
// Anthropic's input_tokens excludes cache reads: the whole input is input_tokens + cache_read_input_tokens.
const ANTHROPIC_USAGE: Tokens = {
  input: FAKE_USAGE.inputTokens + FAKE_USAGE.cachedInputTokens,
  cached: FAKE_USAGE.cachedInputTokens,
  output: FAKE_USAGE.outputTokens,
};
const GEMINI_USAGE = OPENAI_USAGE;

type DailyRow = {
  model: string;
  calls: string;
  input_tokens: string;
  cached_input_tokens: string;
  output_tokens: string;
  cost_micros: string;
};

const dailyRows = (s: TestService, tenantId: string) =>
  sql<DailyRow>(
    s,
    `SELECT model, calls::text, input_tokens::text, cached_input_tokens::text, output_tokens::text,
            cost_micros::text
       FROM ai_usage_daily WHERE tenant_id = $1 ORDER BY model`,
    [tenantId],
  );

type AuditRow = {
  outcome: string;
  error_code: string | null;
  actor_token_id: string | null;
  actor_role: string | null;
  details: Record<string, unknown> | null;
};
const audit = (s: TestService, tenantId: string, action: string) =>
  sql<AuditRow>(
    s,
    `SELECT outcome, error_code, actor_token_id, actor_role, details FROM audit_events
      WHERE tenant_id = $1 AND action = $2 ORDER BY seq`,
    [tenantId, action],
  );

/** A tenant on the fixture's service with one secret per AI kind (as the harness's own tenant). */
async function tenantWithKeys(f: GatewayFixture, id: string) {
  const tokens = await f.s.tenant(id);
  for (const [name, kind, value] of [
    ['gpt', 'openai', KEYS.openai],
    ['claude', 'anthropic', KEYS.anthropic],
    ['gemini', 'google', KEYS.google],
  ] as const) {
    const r = await f.s.call('PUT', `/v1/tenants/${id}/secrets/${name}`, {
      token: tokens.service,
      body: { kind, value },
    });
    if (r.status !== 201) throw new Error(`put ${name}: ${r.status} ${r.text}`);
  }
  return { ...tokens, base: (name: string) => `${f.s.url}/v1/tenants/${id}/ai/${name}` };
}

let f: GatewayFixture;
let second: TestService;

beforeAll(async () => {
  const dir = await mkdtemp(join(tmpdir(), 'byok-prices-'));
  const pricesFile = join(dir, 'prices.json');
  await writeFile(pricesFile, JSON.stringify({ openai: { [CAP_MODEL]: CAP_PRICE } }));
  const env = { AI_PRICES_FILE: pricesFile };
  f = await startGateway('gw-meter', env);
  // A second instance on the same database (and the same local dev KMS keys), in front of the same fake upstream.
  second = await startTestService({
    sharedDb: f.s.db,
    env: {
      DATA_DIR: f.s.dataDir,
      AI_UPSTREAM_OPENAI_URL: f.fake.url,
      AI_UPSTREAM_ANTHROPIC_URL: f.fake.url,
      AI_UPSTREAM_GOOGLE_URL: f.fake.url,
      EGRESS_ALLOW_CIDRS: '127.0.0.0/8',
      // The gateway's cached secret rows and cap lists live a minute here, so a change the second
      // instance sees at once can only have reached it by the tenant event (see the last suite).
      AI_CACHE_MS: '60000',
      ...env,
    },
  });
});

afterAll(async () => {
  await second?.close();
  await f?.close();
});

describe('usage and cost of gateway calls, end to end through the official SDKs', () => {
  it('OpenAI (plain and streamed with include_usage), Anthropic (streamed) and Gemini: usage rows, ai.use events and GET /usage equal the fake upstream and the price table', async () => {
    const t = await tenantWithKeys(f, 'meter-all');
    const openai = new OpenAI({ baseURL: `${t.base('gpt')}/v1`, apiKey: t.service, maxRetries: 0 });
    const plain = await openai.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'hi' }],
    });
    expect(plain.usage?.prompt_tokens).toBe(FAKE_USAGE.inputTokens);
    const stream = await openai.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'hi' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    for await (const chunk of stream) void chunk;

    const anthropic = new Anthropic({ baseURL: t.base('claude'), apiKey: t.service, maxRetries: 0 });
    const msgs = await anthropic.messages.create({
      model: 'claude-sonnet-4-5',
      max_tokens: 64,
      messages: [{ role: 'user', content: 'hi' }],
      stream: true,
    });
    for await (const ev of msgs) void ev;

    const gemini = new GoogleGenAI({ apiKey: t.service, httpOptions: { baseUrl: t.base('gemini') } });
    const g = await gemini.models.generateContent({ model: 'gemini-2.5-flash', contents: 'hi' });
    expect(g.usageMetadata?.candidatesTokenCount).toBe(FAKE_USAGE.outputTokens);

    const gptCost = expectedCost(price('openai', 'gpt-4o-mini'), OPENAI_USAGE);
    const claudeCost = expectedCost(price('anthropic', 'claude-sonnet-4-5'), ANTHROPIC_USAGE);
    const geminiCost = expectedCost(price('google', 'gemini-2.5-flash'), GEMINI_USAGE);
    // The arithmetic is not trivially zero (otherwise equality would prove little).
    expect(Math.min(gptCost, claudeCost, geminiCost)).toBeGreaterThan(0);

    // Settling happens after the answer is on its way: wait for the four calls.
    const rows = await eventually(
      () => dailyRows(f.s, 'meter-all'),
      (r) => r.reduce((n, x) => n + Number(x.calls), 0) >= 4,
    );
    const row = (input: number, cached: number, output: number, cost: number, calls = 1) => ({
      calls: String(calls),
      input_tokens: String(input),
      cached_input_tokens: String(cached),
      output_tokens: String(output),
      cost_micros: String(cost),
    });
    const u = (x: Tokens, n = 1) => [x.input * n, x.cached * n, x.output * n] as const;
    expect(rows.map(({ model, ...rest }) => ({ model, ...rest }))).toEqual([
      { model: 'claude-sonnet-4-5', ...row(...u(ANTHROPIC_USAGE), claudeCost) },
      { model: 'gemini-2.5-flash', ...row(...u(GEMINI_USAGE), geminiCost) },
      { model: 'gpt-4o-mini', ...row(...u(OPENAI_USAGE, 2), 2 * gptCost, 2) },
    ]);

    // Each ai.use event carries the same tokens and cost.
    const uses = await eventually(
      () => audit(f.s, 'meter-all', 'ai.use'),
      (r) => r.length >= 4,
    );
    const usesOf = (provider: string) =>
      uses
        .filter((e) => e.details?.provider === provider)
        .map((e) => ({
          outcome: e.outcome,
          stream: e.details?.stream,
          inputTokens: e.details?.inputTokens,
          cachedInputTokens: e.details?.cachedInputTokens,
          outputTokens: e.details?.outputTokens,
          costMicros: e.details?.costMicros,
        }));
    const ev = (x: Tokens, cost: number, stream: boolean) => ({
      outcome: 'success',
      stream,
      inputTokens: x.input,
      cachedInputTokens: x.cached,
      outputTokens: x.output,
      costMicros: cost,
    });
    expect(usesOf('openai')).toEqual([ev(OPENAI_USAGE, gptCost, false), ev(OPENAI_USAGE, gptCost, true)]);
    expect(usesOf('anthropic')).toEqual([ev(ANTHROPIC_USAGE, claudeCost, true)]);
    expect(usesOf('google')).toEqual([ev(GEMINI_USAGE, geminiCost, false)]);

    // The tenant admin's cost dashboard shows the same.
    const report = await f.s.call('GET', '/v1/tenants/meter-all/usage?groupBy=model', { token: t.admin });
    expect(report.status).toBe(200);
    const total = report.body.total as Record<string, number>;
    expect(total).toMatchObject({
      calls: 4,
      inputTokens: 2 * OPENAI_USAGE.input + ANTHROPIC_USAGE.input + GEMINI_USAGE.input,
      outputTokens: 4 * FAKE_USAGE.outputTokens,
      costMicros: 2 * gptCost + claudeCost + geminiCost,
    });
    const groups = report.body.groups as { key: string; costMicros: number }[];
    expect(Object.fromEntries(groups.map((x) => [x.key, x.costMicros]))).toEqual({
      'claude-sonnet-4-5': claudeCost,
      'gemini-2.5-flash': geminiCost,
      'gpt-4o-mini': 2 * gptCost,
    });
  });
});

describe('a tenant spend cap across two instances', () => {
  it('$1/day, 20 concurrent calls over both instances: settled spend within the cap, later calls 402 BUDGET_EXCEEDED, each audited once with the caller, none sent upstream', async () => {
    const t = await tenantWithKeys(f, 'meter-cap');
    const put = await f.s.call('PUT', '/v1/tenants/meter-cap/ai/budget', {
      token: t.admin,
      body: { period: 'day', limitMicros: 1_000_000 },
    });
    expect(put.status).toBe(200);

    // Each call reserves at most $0.30 and really costs less (the fake's usage).
    const reservation = expectedCost(CAP_PRICE, { input: 0, cached: 0, output: CAP_MAX_TOKENS });
    const real = expectedCost(CAP_PRICE, OPENAI_USAGE);
    expect(reservation).toBeLessThanOrEqual(300_000);
    expect(real).toBeLessThan(reservation);

    // Default retries on: the SDK must not retry a 402 (it retries 429 and 5xx).
    const clients = [f.s, second].map(
      (s) => new OpenAI({ baseURL: `${s.url}/v1/tenants/meter-cap/ai/gpt/v1`, apiKey: t.service }),
    );
    const upstreamBefore = f.fake.requests.length;
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        clients[i % 2]!.chat.completions.create({
          model: CAP_MODEL,
          max_tokens: CAP_MAX_TOKENS,
          messages: [{ role: 'user', content: `call ${i}` }],
        }).then(
          () => ({ ok: true as const }),
          (err: unknown) => ({ ok: false as const, err }),
        ),
      ),
    );
    // Then calls one by one, each after the one before has settled, until the cap refuses one
    // (the burst may have been refused by reservations in flight with spend still below the cap).
    const settled = () =>
      eventually(
        () =>
          sql<{ n: string }>(f.s, 'SELECT count(*)::text AS n FROM ai_reservations WHERE tenant_id = $1', [
            'meter-cap',
          ]),
        (r) => r[0]?.n === '0',
      );
    const later = (i: number) =>
      clients[i % 2]!.chat.completions.create({
        model: CAP_MODEL,
        max_tokens: CAP_MAX_TOKENS,
        messages: [{ role: 'user', content: 'later' }],
      }).then(
        () => ({ ok: true as const }),
        (err: unknown) => ({ ok: false as const, err }),
      );
    await settled();
    let refusedLater = false;
    for (let i = 0; i < 6 && !refusedLater; i++) {
      const r = await later(i);
      results.push(r);
      refusedLater = !r.ok;
      await settled();
    }
    expect(refusedLater).toBe(true);
    // Once refused, later calls on either instance stay refused.
    for (let i = 0; i < 2; i++) results.push(await later(i));
    expect(results.slice(-3).every((r) => !r.ok)).toBe(true);

    const ok = results.filter((r) => r.ok).length;
    const refused = results.filter((r) => !r.ok);
    expect(ok).toBeGreaterThan(0);
    for (const r of refused) {
      const err = r.err as InstanceType<typeof OpenAI.APIError>;
      expect(err).toBeInstanceOf(OpenAI.APIError);
      expect({ status: err.status, error: err.error }).toMatchObject({ status: 402 });
      expect(err.headers?.get('content-type')).toMatch(/^application\/problem\+json/);
      expect((err.error as { code?: string } | undefined)?.code).toBe('BUDGET_EXCEEDED');
    }
    // Only the calls that succeeded reached upstream: no refused call, and no retry of a 402.
    expect(f.fake.requests.length - upstreamBefore).toBe(ok);

    const spend = await eventually(
      () =>
        sql<{ spent: string; reserved: string }>(
          f.s,
          `SELECT spent_micros::text AS spent, reserved_micros::text AS reserved FROM ai_spend
            WHERE tenant_id = 'meter-cap' AND secret_name = '' AND period = 'day'`,
        ),
      (r) => r[0]?.reserved === '0',
    );
    const spent = Number(spend[0]?.spent);
    expect(spent).toBe(ok * real);
    // The acceptance bound: the cap plus one in-flight reservation per instance...
    expect(spent).toBeLessThanOrEqual(1_600_000);
    // ...and the design's stricter one: spent + reserved never passes the cap, and a call never
    // settles above its reservation, so what settles never passes it either.
    expect(spent).toBeLessThanOrEqual(1_000_000);
    // The cap was really reached: one more call would pass it.
    expect(spent + reservation).toBeGreaterThan(1_000_000);

    const exceeded = await audit(f.s, 'meter-cap', 'ai.budget.exceeded');
    expect(exceeded).toHaveLength(refused.length);
    const callerEvents = await audit(f.s, 'meter-cap', 'secret.use');
    // The key is opened only after the reservation holds: a refused call never opened it.
    expect(callerEvents.filter((e) => e.outcome === 'success')).toHaveLength(ok);
    const caller = callerEvents[0]?.actor_token_id;
    expect(caller).toBeTruthy();
    for (const e of exceeded) {
      expect({ actor: e.actor_token_id, role: e.actor_role, code: e.error_code, outcome: e.outcome }).toEqual(
        {
          actor: caller,
          role: 'service',
          code: 'BUDGET_EXCEEDED',
          outcome: 'denied',
        },
      );
    }
  });

  it('under a cap of zero, stored-response calls and model lookups (no model, no usage of their own) pass: nothing reserved, refused or metered; a retrieved response is not billed again', async () => {
    const t = await tenantWithKeys(f, 'meter-stored');
    const openai = new OpenAI({ baseURL: `${t.base('gpt')}/v1`, apiKey: t.service, maxRetries: 0 });
    // Created (and billed once) before the cap.
    const done = await openai.responses.create({ model: 'gpt-4o-mini', input: 'hi' });
    const queued = await openai.responses.create({ model: 'gpt-4o-mini', input: 'hi', background: true });
    const billed = await eventually(
      () => dailyRows(f.s, 'meter-stored'),
      (r) => r[0]?.calls === '2',
    );
    const cap = await f.s.call('PUT', '/v1/tenants/meter-stored/ai/budget', {
      token: t.admin,
      body: { period: 'day', limitMicros: 0 },
    });
    expect(cap.status).toBe(200);
    // A billed call is refused now (the cap is in force)...
    await expect(openai.responses.create({ model: 'gpt-4o-mini', input: 'hi' })).rejects.toMatchObject({
      status: 402,
    });
    // ...these are not: none names a model or bills a token (a retrieved response repeats its usage).
    const upstreamBefore = f.fake.requests.length;
    expect((await openai.responses.retrieve(done.id)).usage?.input_tokens).toBe(FAKE_USAGE.inputTokens);
    expect((await openai.responses.inputItems.list(done.id)).data).toHaveLength(1);
    expect((await openai.responses.cancel(queued.id)).status).toBe('cancelled');
    expect((await openai.responses.delete(done.id).asResponse()).status).toBe(200);
    expect((await openai.models.retrieve('gpt-4o-mini')).id).toBe('gpt-4o-mini');
    expect(f.fake.requests.length - upstreamBefore).toBe(5);

    const free = [
      'responses.retrieve',
      'responses.input_items',
      'responses.cancel',
      'responses.delete',
      'models',
    ];
    const uses = await eventually(
      () => audit(f.s, 'meter-stored', 'ai.use'),
      (r) => free.every((op) => r.some((e) => e.details?.operation === op)),
    );
    for (const e of uses.filter((u) => free.includes(u.details?.operation as string)))
      expect({ op: e.details?.operation, outcome: e.outcome, tokens: e.details?.inputTokens }).toEqual({
        op: e.details?.operation,
        outcome: 'success',
        tokens: undefined,
      });
    expect(await audit(f.s, 'meter-stored', 'ai.model.unpriced')).toEqual([]);
    expect(await audit(f.s, 'meter-stored', 'ai.budget.exceeded')).toHaveLength(1);
    const reservations = await sql<{ n: string }>(
      f.s,
      'SELECT count(*)::text AS n FROM ai_reservations WHERE tenant_id = $1',
      ['meter-stored'],
    );
    expect(reservations[0]?.n).toBe('0');
    expect(await dailyRows(f.s, 'meter-stored')).toEqual(billed);
  });

  it('with a cap set, a model missing from the price table is refused MODEL_NOT_PRICED, no upstream call', async () => {
    const t = await tenantWithKeys(f, 'meter-unpriced');
    expect(
      (
        await f.s.call('PUT', '/v1/tenants/meter-unpriced/secrets/gpt/budget', {
          token: t.admin,
          body: { period: 'month', limitMicros: 5_000_000 },
        })
      ).status,
    ).toBe(200);
    const before = f.fake.requests.length;
    const r = await f.s.call('POST', '/v1/tenants/meter-unpriced/ai/gpt/v1/chat/completions', {
      token: t.service,
      body: { model: 'no-such-priced-model', messages: [{ role: 'user', content: 'hi' }] },
    });
    expect(r.status).toBeGreaterThanOrEqual(400);
    expect(r.status).toBeLessThan(500);
    expect(r.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(r.body.code).toBe('MODEL_NOT_PRICED');
    expect(f.fake.requests.length).toBe(before);
    expect(await dailyRows(f.s, 'meter-unpriced')).toEqual([]);
  });
});

describe('spike auto-suspension through the gateway', () => {
  it('a spike under autoSuspend suspends the key: 423 AI_KEY_SUSPENDED without calling upstream; a new version clears it', async () => {
    const t = await tenantWithKeys(f, 'meter-spike');
    const policy = await f.s.call('PUT', '/v1/tenants/meter-spike/policy', {
      token: t.admin,
      body: { aiSpikes: { autoSuspend: true, minRequests: 2, minSpendMicros: 1 } },
    });
    expect(policy.status).toBe(200);
    const chat = () =>
      f.s.call('POST', '/v1/tenants/meter-spike/ai/gpt/v1/chat/completions', {
        token: t.service,
        body: { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] },
      });
    // No history: three calls this hour are far above the (empty) trailing mean and pass the floors.
    for (let i = 0; i < 3; i++) expect((await chat()).status).toBe(200);
    await eventually(
      () => dailyRows(f.s, 'meter-spike'),
      (r) => r[0]?.calls === '3',
    );

    await second.service.aiSpikes.run();
    const spikes = await audit(f.s, 'meter-spike', 'ai.usage.spike');
    expect(spikes).toHaveLength(1);

    const before = f.fake.requests.length;
    for (const s of [f.s, second]) {
      const r = await s.call('POST', '/v1/tenants/meter-spike/ai/gpt/v1/chat/completions', {
        token: t.service,
        body: { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] },
      });
      expect(r.status).toBe(423);
      expect(r.body.code).toBe('AI_KEY_SUSPENDED');
    }
    expect(f.fake.requests.length).toBe(before);

    const put = await f.s.call('PUT', '/v1/tenants/meter-spike/secrets/gpt', {
      token: t.service,
      body: { kind: 'openai', value: KEYS.openai },
    });
    expect([200, 201]).toContain(put.status);
    expect((await chat()).status).toBe(200);
    expect(f.fake.requests.length).toBe(before + 1);
  });
});

describeOnRealPostgres('the gateway caches follow changes made on another instance', () => {
  it('a new key version stored on one instance is the key the other injects on its next call; a cap set on one refuses on the other at once', async () => {
    const t = await tenantWithKeys(f, 'meter-cache');
    const viaSecond = new OpenAI({
      baseURL: `${second.url}/v1/tenants/meter-cache/ai/gpt/v1`,
      apiKey: t.service,
      maxRetries: 0,
    });
    const chat = () =>
      viaSecond.chat.completions.create({
        model: CAP_MODEL,
        max_tokens: CAP_MAX_TOKENS,
        messages: [{ role: 'user', content: 'hello' }],
      });
    const lastKey = () => f.fake.requests.at(-1)?.key;

    // The second instance reads and caches the secret's row and the tenant's (empty) cap list.
    await chat();
    expect(lastKey()).toBe(KEYS.openai);

    // A new version stored through the FIRST instance: the second injects it on its very next call.
    const rotated = `${KEYS.openai.slice(0, -4)}NEW1`;
    f.fake.validKeys.add(rotated);
    const put = await f.s.call('PUT', '/v1/tenants/meter-cache/secrets/gpt', {
      token: t.service,
      body: { kind: 'openai', value: rotated },
    });
    expect(put.status).toBe(200);
    await eventually(
      async () => {
        await chat();
        return lastKey();
      },
      (k) => k === rotated,
      2000,
    );
    expect(lastKey()).toBe(rotated);

    // A cap set through the first instance refuses on the second without waiting out its cache.
    const cap = await f.s.call('PUT', '/v1/tenants/meter-cache/ai/budget', {
      token: t.admin,
      body: { period: 'day', limitMicros: 0 },
    });
    expect(cap.status).toBe(200);
    const upstreamBefore = f.fake.requests.length;
    const refused = await eventually(
      () =>
        chat().then(
          () => 200,
          (err: unknown) => (err as { status?: number }).status ?? 0,
        ),
      (status) => status === 402,
      2000,
    );
    expect(refused).toBe(402);
    // At most the calls made before the event arrived went upstream (in practice none).
    expect(f.fake.requests.length - upstreamBefore).toBeLessThanOrEqual(1);
  });
});

describe('gateway metrics', () => {
  it('Prometheus counts calls by provider and outcome, tokens and spend, with no tenant or secret label', async () => {
    const t = await tenantWithKeys(f, 'meter-metrics');
    const metric = async (name: string, labels: string) => {
      const line = (await second.scrape()).text.split('\n').find((l) => l.startsWith(`${name}{${labels}}`));
      return line ? Number(line.split(' ').at(-1)) : 0;
    };
    const figures = () =>
      Promise.all([
        metric('byok_ai_calls_total', 'provider="openai",outcome="ok"'),
        metric('byok_ai_calls_total', 'provider="openai",outcome="budget_exceeded"'),
        metric('byok_ai_tokens_total', 'provider="openai",kind="output"'),
        metric('byok_ai_cost_micros_total', 'provider="openai"'),
        metric('byok_ai_call_duration_seconds_count', 'provider="openai",stream="false"'),
      ]);
    const before = await figures();
    const openai = new OpenAI({
      baseURL: `${second.url}/v1/tenants/meter-metrics/ai/gpt/v1`,
      apiKey: t.service,
      maxRetries: 0,
    });
    const chat = () =>
      openai.chat.completions.create({
        model: CAP_MODEL,
        max_tokens: CAP_MAX_TOKENS,
        messages: [{ role: 'user', content: 'hi' }],
      });
    await chat();
    await chat();
    const cap = await f.s.call('PUT', '/v1/tenants/meter-metrics/ai/budget', {
      token: t.admin,
      body: { period: 'day', limitMicros: 0 },
    });
    expect(cap.status).toBe(200);
    await eventually(
      () =>
        chat().then(
          () => 200,
          (err: unknown) => (err as { status?: number }).status ?? 0,
        ),
      (s) => s === 402,
      2000,
    );
    const after = await figures();
    const real = expectedCost(CAP_PRICE, OPENAI_USAGE);
    expect(after.map((v, i) => v - before[i]!)).toEqual([2, 1, 2 * OPENAI_USAGE.output, 2 * real, 2]);
    // No tenant, secret or key in any series.
    const text = (await second.scrape()).text;
    for (const s of ['meter-metrics', 'gpt"', KEYS.openai.slice(-12)]) expect(text).not.toContain(s);
  });
});
