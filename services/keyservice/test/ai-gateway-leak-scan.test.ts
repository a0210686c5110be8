import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { openaiWire } from '@byok/ai-fakes';
import OpenAI from 'openai';
import Anthropic from '@anthropic-ai/sdk';
import { expectProblem, findCanaries, sql } from './acceptance-helpers.js';
import { auditRows, eventually, KEYS, startGateway, type GatewayFixture } from './ai-gateway-harness.js';

/** A key the fake refuses, with OpenAI's 401 that echoes it (masked) - and a 400 that echoes it whole. */
const CANARY = 'sk-proj-GatewayLeakCanary0123456789abcdefMNOP';

describe('leak scan of the AI gateway (G1): a canary key never reaches logs, audit rows, error bodies or responses', () => {
  let f: GatewayFixture;
  /** Everything the clients received. */
  const received: string[] = [];

  beforeAll(async () => {
    f = await startGateway('gw-leak');
    const tk = f.tokens.service;
    const put = await f.s.call('PUT', `/v1/tenants/gw-leak/secrets/canary`, {
      token: tk,
      body: { kind: 'openai', value: CANARY },
    });
    expect(put.status).toBe(201);
    received.push(put.text);
    f.fake.validKeys.add(CANARY);

    const client = new OpenAI({ baseURL: `${f.base('canary')}/v1`, apiKey: tk, maxRetries: 0 });
    const chat = await client.chat.completions
      .create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] })
      .withResponse();
    received.push(JSON.stringify(chat.data), JSON.stringify([...chat.response.headers.entries()]));
    const stream = await client.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'hi' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    for await (const c of stream) received.push(JSON.stringify(c));
    received.push(JSON.stringify(await client.models.list()));

    // An upstream error that echoes the whole key, and a rate limit.
    f.fake.failNext('openai', {
      status: 400,
      body: {
        error: { message: `Invalid value for key: ${CANARY}`, type: 'invalid_request_error', code: null },
      },
    });
    f.fake.failNext('openai', {
      status: 429,
      body: openaiWire.rateLimited(),
      headers: { 'retry-after': '1' },
    });
    for (let i = 0; i < 2; i++) {
      const r = await f.s.call('POST', `/v1/tenants/gw-leak/ai/canary/v1/chat/completions`, {
        token: tk,
        body: { model: 'gpt-4o-mini', messages: [] },
      });
      expect(r.status).toBe(i === 0 ? 400 : 429);
      received.push(r.text, JSON.stringify([...r.headers.entries()]));
    }
    // Wrong provider SDK on the same secret (path off the allow-list) and a foreign tenant.
    const anthropic = new Anthropic({ baseURL: f.base('canary'), apiKey: tk, maxRetries: 0 });
    received.push(
      JSON.stringify(
        await anthropic.messages
          .create({ model: 'x', max_tokens: 1, messages: [{ role: 'user', content: 'hi' }] })
          .catch((e: unknown) => e),
      ),
    );
    const other = await f.s.tenant('gw-leak-other');
    const foreign = await f.s.call('POST', `/v1/tenants/gw-leak/ai/canary/v1/chat/completions`, {
      token: other.service,
      body: { model: 'gpt-4o-mini', messages: [] },
    });
    expectProblem(foreign, 403, 'FORBIDDEN');
    received.push(foreign.text);

    // Finally the provider revokes the key: OpenAI's 401 names it (masked); the caller gets 424.
    f.fake.validKeys.delete(CANARY);
    const refused = await client.chat.completions
      .create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] })
      .catch((e: unknown) => e as InstanceType<typeof OpenAI.APIError>);
    expect((refused as InstanceType<typeof OpenAI.APIError>).status).toBe(424);
    received.push(JSON.stringify(refused), (refused as Error).message);
    await eventually(
      () => auditRows(f, 'ai.use'),
      (rows) => rows.length >= 7,
    );
  }, 60_000);
  afterAll(async () => {
    await f?.close();
  });

  const canaries = {
    key: CANARY,
    keyHead: CANARY.slice(0, 16),
    keyTail: CANARY.slice(-12),
    maskedEcho: `****${CANARY.slice(-4)}`,
  };

  it('positive control: the fake saw the canary and echoed it in its error bodies', () => {
    expect(f.fake.requests.some((r) => r.headers.authorization === `Bearer ${CANARY}`)).toBe(true);
    expect(JSON.stringify(openaiWire.invalidKey(CANARY))).toContain(canaries.maskedEcho);
    expect(received.length).toBeGreaterThan(10);
  });

  it('no canary (whole, head, tail or masked echo) in anything a client received', () => {
    expect(findCanaries(received.join('\n'), canaries)).toEqual([]);
  });

  it('no canary in any log line (debug level)', () => {
    expect(f.s.logs.length).toBeGreaterThan(20);
    expect(findCanaries(f.s.logs.join(''), canaries)).toEqual([]);
  });

  it('no canary in any audit row; the calls were audited (ai.use, secret.use, ai.key.invalid)', async () => {
    const rows = await sql(f.s, `SELECT * FROM audit_events WHERE tenant_id = 'gw-leak'`);
    const text = JSON.stringify(rows);
    expect(text).toContain('ai.use');
    expect(text).toContain('secret.use');
    expect(text).toContain('ai.key.invalid');
    expect(findCanaries(text, canaries)).toEqual([]);
    for (const table of ['secrets', 'secret_versions']) {
      const dump = JSON.stringify(await sql(f.s, `SELECT * FROM ${table}`));
      expect({ table, hits: findCanaries(dump, canaries) }).toEqual({ table, hits: [] });
    }
  });
});

describe('customer CMK disabled: the gateway refuses with KEY_REVOKED, and works again when restored (G2)', () => {
  let f: GatewayFixture;
  beforeAll(async () => {
    f = await startGateway('gw-cmk', { HEALTH_PROBE_INTERVAL_SECONDS: '0' });
  });
  afterAll(async () => {
    await f?.close();
  });

  it('within the revocation bound (strict policy: R = 0), without calling upstream; restore -> works', async () => {
    const client = new OpenAI({ baseURL: `${f.base('gpt')}/v1`, apiKey: f.tokens.service, maxRetries: 0 });
    const chat = () => client.chat.completions.create({ model: 'gpt-4o-mini', messages: [] });
    await expect(chat()).resolves.toMatchObject({ object: 'chat.completion' });
    const policy = await f.s.call('PUT', `/v1/tenants/gw-cmk/policy`, {
      token: f.tokens.admin,
      body: { cacheTtlSeconds: 0 },
    });
    expect(policy.status).toBe(200);
    const kms = (op: 'disable' | 'enable') =>
      f.s.call('POST', `/v1/dev/local-kms/keys/${f.tokens.keyName}/${op}`, { token: f.s.adminToken });
    expect((await kms('disable')).status).toBe(200);
    const before = f.fake.requests.length;
    const err = (await chat().catch((e: unknown) => e)) as InstanceType<typeof OpenAI.APIError>;
    expect(err.status).toBe(403);
    expect(err.message).toContain('KEY_REVOKED');
    expect(f.fake.requests.length).toBe(before);
    expect(KEYS.openai).not.toBe('');
    expect((await kms('enable')).status).toBe(200);
    await expect(chat()).resolves.toMatchObject({ object: 'chat.completion' });
    expect(f.fake.requests.length).toBe(before + 1);
  });
});
