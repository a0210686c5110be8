import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { openaiWire } from '@byok/ai-fakes';
import OpenAI from 'openai';
import { expectProblem, sql } from './acceptance-helpers.js';
import { auditRows, KEYS, startGateway, type GatewayFixture } from './ai-gateway-harness.js';

const REVOKED = 'sk-proj-RevokedTenantKey0123456789abcdefQRST';

describe('AI gateway key health, errors and fail-closed audit', () => {
  let f: GatewayFixture;
  let sdk: (secret: string) => OpenAI;

  beforeAll(async () => {
    f = await startGateway('gw-health');
    sdk = (secret) =>
      new OpenAI({ baseURL: `${f.base(secret)}/v1`, apiKey: f.tokens.service, maxRetries: 0 });
  });
  afterAll(async () => {
    await f?.close();
  });

  const chat = (secret: string) =>
    sdk(secret).chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'hi' }],
    });
  const upstreamCalls = () => f.fake.requests.length;
  const putKey = (name: string, value: string) =>
    f.s.call('PUT', `/v1/tenants/${f.tenantId}/secrets/${name}`, {
      token: f.tokens.service,
      body: { kind: 'openai', value },
    });
  const stateOf = async (name: string) =>
    (
      await sql<{ ai_state: string; ai_state_reason: string | null }>(
        f.s,
        'SELECT ai_state, ai_state_reason FROM secrets WHERE tenant_id = $1 AND name = $2',
        [f.tenantId, name],
      )
    )[0];

  it('upstream 401 -> 424 AI_KEY_INVALID, secret marked invalid, zero upstream calls until a new version is stored', async () => {
    expect((await putKey('revoked', REVOKED)).status).toBe(201);
    const before = upstreamCalls();
    const err = await chat('revoked').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.APIError);
    expect((err as InstanceType<typeof OpenAI.APIError>).status).toBe(424);
    // problem+json: the SDK keeps the raw text as the message.
    expect((err as Error).message).toContain('AI_KEY_INVALID');
    // OpenAI's 401 echoes the key (masked); none of it reaches the caller.
    expect(JSON.stringify(err)).not.toContain(REVOKED.slice(-4) + '.');
    expect(upstreamCalls()).toBe(before + 1);
    expect(await stateOf('revoked')).toEqual({
      ai_state: 'invalid',
      ai_state_reason: 'openai:401:invalid_api_key',
    });
    // The tenant admin sees why in the secret's metadata (the console's "store a new key" prompt).
    const meta = await f.s.call('GET', `/v1/tenants/${f.tenantId}/secrets/revoked`, {
      token: f.tokens.admin,
    });
    expect(meta.status).toBe(200);
    expect(meta.body).toMatchObject({
      version: 1,
      ai: { state: 'invalid', reason: 'openai:401:invalid_api_key', since: expect.any(String) },
    });
    expect((await auditRows(f, 'ai.key.invalid')).at(-1)).toMatchObject({
      outcome: 'failure',
      error_code: 'AI_KEY_INVALID',
      details: { provider: 'openai', httpStatus: 401, reason: 'invalid_api_key', secretVersion: 1 },
    });

    for (let i = 0; i < 3; i++) {
      await expect(chat('revoked')).rejects.toMatchObject({ status: 424 });
    }
    const streamed = await f.s.call('POST', `/v1/tenants/${f.tenantId}/ai/revoked/v1/chat/completions`, {
      token: f.tokens.service,
      body: { model: 'gpt-4o-mini', messages: [], stream: true },
    });
    expectProblem(streamed, 424, 'AI_KEY_INVALID');
    expect(upstreamCalls()).toBe(before + 1);

    // A new version clears the state; the provider accepts it.
    f.fake.validKeys.add(REVOKED.replace('Revoked', 'Renewed0'));
    expect((await putKey('revoked', REVOKED.replace('Revoked', 'Renewed0'))).status).toBe(200);
    expect((await stateOf('revoked'))?.ai_state).toBe('active');
    const renewed = await f.s.call('GET', `/v1/tenants/${f.tenantId}/secrets/revoked`, {
      token: f.tokens.admin,
    });
    expect(renewed.body).toMatchObject({
      version: 2,
      ai: { state: 'active', reason: null, since: null },
    });
    await expect(chat('revoked')).resolves.toMatchObject({ object: 'chat.completion' });
    expect(upstreamCalls()).toBe(before + 2);
  });

  it('a suspended key is refused with 423 AI_KEY_SUSPENDED without calling upstream', async () => {
    expect((await putKey('paused', KEYS.openai)).status).toBe(201);
    await sql(
      f.s,
      `UPDATE secrets SET ai_state = 'suspended', ai_state_reason = 'spike' WHERE tenant_id = $1 AND name = 'paused'`,
      [f.tenantId],
    );
    const before = upstreamCalls();
    await expect(chat('paused')).rejects.toMatchObject({ status: 423 });
    expect(upstreamCalls()).toBe(before);
  });

  it('upstream 429 passes through with its Retry-After; the key stays active', async () => {
    f.fake.failNext('openai', {
      status: 429,
      body: openaiWire.rateLimited(),
      headers: { 'retry-after': '7' },
    });
    const err = (await chat('gpt').catch((e: unknown) => e)) as InstanceType<typeof OpenAI.APIError>;
    expect(err.status).toBe(429);
    expect(err.headers?.get('retry-after')).toBe('7');
    expect((err.error as { code?: string }).code).toBe('rate_limit_exceeded');
    expect((await stateOf('gpt'))?.ai_state).toBe('active');
  });

  it('scrubs an upstream error body that echoes the key (full, partial or masked)', async () => {
    f.fake.failNext('openai', {
      status: 400,
      body: {
        error: {
          message: `bad request for key ${KEYS.openai}; also ${KEYS.openai.slice(0, 14)} and sk-proj-****${KEYS.openai.slice(-4)}`,
          type: 'invalid_request_error',
          param: null,
          code: null,
        },
      },
    });
    const r = await f.s.call('POST', `/v1/tenants/${f.tenantId}/ai/gpt/v1/chat/completions`, {
      token: f.tokens.service,
      body: { model: 'gpt-4o-mini', messages: [] },
    });
    expect(r.status).toBe(400);
    expect(r.text).not.toContain(KEYS.openai);
    expect(r.text).not.toContain(KEYS.openai.slice(0, 12));
    expect(r.text).not.toContain(`****${KEYS.openai.slice(-4)}`);
    expect(r.text).toContain('[redacted]');
  });

  it('never forwards the caller credentials or unlisted headers; only the allow-list', async () => {
    const before = upstreamCalls();
    await f.s.call('POST', `/v1/tenants/${f.tenantId}/ai/gpt/v1/chat/completions`, {
      token: f.tokens.service,
      body: { model: 'gpt-4o-mini', messages: [] },
      headers: {
        'x-api-key': 'caller-credential-1',
        'api-key': 'caller-credential-2',
        cookie: 'session=caller',
        'openai-organization': 'org-caller',
        'openai-beta': 'assistants=v2',
        'x-forwarded-for': '10.0.0.1',
      },
    });
    const seen = f.fake.requests[before];
    expect(seen?.headers.authorization).toBe(`Bearer ${KEYS.openai}`);
    expect(seen?.headers['openai-beta']).toBe('assistants=v2');
    for (const h of ['x-api-key', 'api-key', 'cookie', 'openai-organization', 'x-forwarded-for'])
      expect({ h, v: seen?.headers[h] }).toEqual({ h, v: undefined });
  });

  it('fails closed: when the key-use audit write fails, no upstream call is made', async () => {
    await sql(
      f.s,
      `CREATE OR REPLACE FUNCTION test_ai_audit_fault() RETURNS trigger LANGUAGE plpgsql AS
         $$ BEGIN IF NEW.action = 'secret.use' THEN RAISE EXCEPTION 'injected audit fault'; END IF; RETURN NEW; END $$`,
    );
    await sql(
      f.s,
      'CREATE TRIGGER test_ai_audit_fault BEFORE INSERT ON audit_events FOR EACH ROW EXECUTE FUNCTION test_ai_audit_fault()',
    );
    try {
      const before = upstreamCalls();
      await expect(chat('gpt')).rejects.toMatchObject({ status: 503 });
      expect(upstreamCalls()).toBe(before);
    } finally {
      await sql(f.s, 'DROP TRIGGER test_ai_audit_fault ON audit_events');
      await sql(f.s, 'DROP FUNCTION test_ai_audit_fault()');
    }
    await expect(chat('gpt')).resolves.toMatchObject({ object: 'chat.completion' });
  });

  it('PUT with validate: true checks the key with the provider first; a refused key is 424 and nothing is stored', async () => {
    const put = (value: string) =>
      f.s.call('PUT', `/v1/tenants/${f.tenantId}/secrets/checked`, {
        token: f.tokens.service,
        body: { kind: 'openai', value, validate: true },
      });
    const before = upstreamCalls();
    expectProblem(await put('sk-proj-NotAValidKeyAtAll0123456789abcdef'), 424, 'AI_KEY_INVALID');
    expect(f.fake.requests[before]?.path).toBe('/v1/models');
    const meta = await f.s.call('GET', `/v1/tenants/${f.tenantId}/secrets/checked`, {
      token: f.tokens.service,
    });
    expect(meta.status).toBe(404);
    expect((await put(KEYS.openai)).status).toBe(201);
    expect((await auditRows(f, 'ai.key.validate')).map((e) => e.outcome)).toEqual(['failure', 'success']);
  });

  it('refuses bad input with a clear 4xx: unknown secret, a generic secret, a non-JSON body, an Azure endpoint off Azure', async () => {
    await expect(chat('no-such-secret')).rejects.toMatchObject({ status: 404 });
    expect(
      (
        await f.s.call('PUT', `/v1/tenants/${f.tenantId}/secrets/db`, {
          token: f.tokens.service,
          body: { kind: 'generic', value: 'hunter2' },
        })
      ).status,
    ).toBe(201);
    await expect(chat('db')).rejects.toMatchObject({ status: 404 });
    const raw = await f.s.call('POST', `/v1/tenants/${f.tenantId}/ai/gpt/v1/chat/completions`, {
      token: f.tokens.service,
      raw: 'model=gpt',
      headers: { 'content-type': 'text/plain' },
    });
    expectProblem(raw, 415, 'UNSUPPORTED_MEDIA_TYPE');
    for (const endpoint of [
      'https://evil.example.com',
      'http://x.openai.azure.com',
      'https://a.openai.azure.com.evil.com',
      'https://169.254.169.254',
    ]) {
      const r = await f.s.call('PUT', `/v1/tenants/${f.tenantId}/secrets/az2`, {
        token: f.tokens.service,
        body: { kind: 'azure-openai', value: KEYS.azure, endpoint },
      });
      expectProblem(r, 400, 'VALIDATION_FAILED');
    }
  });
  it('(last: it leaves a purpose policy) checks the purpose as reveal does: a purpose outside the policy is refused before any upstream call', async () => {
    const policy = await f.s.call('PUT', `/v1/tenants/${f.tenantId}/policy`, {
      token: f.tokens.admin,
      body: { allowedPurposes: { byRole: { service: ['support-bot'] } } },
    });
    expect(policy.status).toBe(200);
    const before = upstreamCalls();
    {
      const withPurpose = (purpose: string) =>
        new OpenAI({
          baseURL: `${f.base('gpt')}/v1`,
          apiKey: f.tokens.service,
          maxRetries: 0,
          defaultHeaders: { 'x-byok-purpose': purpose },
        }).chat.completions.create({ model: 'gpt-4o-mini', messages: [] });
      await expect(withPurpose('marketing')).rejects.toMatchObject({ status: 403 });
      await expect(chat('gpt')).rejects.toMatchObject({ status: 403 });
      expect(upstreamCalls()).toBe(before);
      await expect(withPurpose('support-bot')).resolves.toMatchObject({ object: 'chat.completion' });
      expect(upstreamCalls()).toBe(before + 1);
      expect((await auditRows(f, 'ai.use')).some((e) => e.error_code === 'PURPOSE_NOT_ALLOWED')).toBe(true);
    }
  });
});
