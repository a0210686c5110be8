import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { ByokApiError, createClient, type ClientOptions } from '../src/index.js';
import { problem, startScriptedServer, type ScriptedServer } from './scripted-server.js';

const TENANT = {
  id: 'acme',
  name: 'Acme',
  state: 'active',
  cacheTtlSeconds: 60,
  createdAt: '2026-11-23T10:00:00.000Z',
};
const TOKEN = 'byok_client_test_token_0123456789';

describe('client retries, deadlines and error mapping (scripted local server)', () => {
  let srv: ScriptedServer;
  let delays: number[];

  beforeAll(async () => {
    srv = await startScriptedServer();
  });
  afterAll(async () => {
    await srv?.close();
  });
  beforeEach(() => {
    delays = [];
  });

  /** A client whose waits are recorded, not slept, and whose jitter is fixed. */
  const client = (o: Partial<ClientOptions> = {}, random = 0.5) =>
    createClient({
      baseUrl: srv.url,
      token: TOKEN,
      sleep: async (ms) => {
        delays.push(ms);
      },
      random: () => random,
      ...o,
    });

  const caught = async (p: Promise<unknown>): Promise<ByokApiError> => {
    const e = await p.then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(e).toBeInstanceOf(ByokApiError);
    return e as ByokApiError;
  };

  it('retries a GET answered 503 twice, then returns the 200 body', async () => {
    srv.script([
      problem(503, 'KMS_UNAVAILABLE'),
      problem(503, 'KMS_UNAVAILABLE'),
      { status: 200, body: TENANT },
    ]);
    await expect(client().getTenant('acme')).resolves.toEqual(TENANT);
    expect(srv.seen).toHaveLength(3);
    expect(srv.seen.map((r) => `${r.method} ${r.url}`)).toEqual(Array(3).fill('GET /v1/tenants/acme'));
    // One request id for the logical call, so the service's audit shows the attempts together.
    expect(new Set(srv.seen.map((r) => r.headers['x-request-id'])).size).toBe(1);
    expect(srv.seen[0]?.headers.authorization).toBe(`Bearer ${TOKEN}`);
    // Full jitter with random()=0.5: half of 100 * 2^0, then half of 100 * 2^1.
    expect(delays).toEqual([50, 100]);
  });

  it('retries 429 the same way, and encrypt counts as safe to repeat', async () => {
    srv.script([
      problem(429, 'KMS_THROTTLED'),
      problem(429, 'KMS_THROTTLED'),
      { status: 200, body: { ciphertext: 'AQIDBA', keyVersion: 1 } },
    ]);
    await expect(client().encrypt('acme', new Uint8Array([1, 2, 3]))).resolves.toEqual({
      ciphertext: 'AQIDBA',
      keyVersion: 1,
    });
    expect(srv.seen).toHaveLength(3);
    expect(JSON.parse(srv.seen[2]?.body ?? '')).toEqual({ plaintext: 'AQID' });
  });

  it('gives up after maxAttempts with the last problem, its code and the attempt count', async () => {
    srv.script([problem(503, 'AUDIT_UNAVAILABLE', 'the audit log cannot be written')]);
    const e = await caught(client({ retries: { maxAttempts: 4 } }).getCmk('acme'));
    expect(e).toMatchObject({ code: 'AUDIT_UNAVAILABLE', status: 503, attempts: 4, requestId: 'srv-req-1' });
    expect(e.detail).toBe('the audit log cannot be written');
    expect(srv.seen).toHaveLength(4);
    expect(delays).toEqual([50, 100, 200]);
  });

  it('caps the exponential backoff at maxDelayMs', async () => {
    srv.script([problem(503, 'KMS_UNAVAILABLE')]);
    await caught(
      client({ retries: { maxAttempts: 6, baseDelayMs: 100, maxDelayMs: 300 } }, 0.999).getCmk('acme'),
    );
    expect(delays).toEqual([99, 199, 299, 299, 299]);
  });

  it('does not retry POST /v1/tokens on 503', async () => {
    srv.script([problem(503, 'STORE_UNAVAILABLE'), { status: 201, body: {} }]);
    const e = await caught(client().createToken({ name: 'svc', role: 'service', tenantId: 'acme' }));
    expect(e).toMatchObject({ code: 'STORE_UNAVAILABLE', status: 503, attempts: 1 });
    expect(srv.seen).toHaveLength(1);
    expect(delays).toEqual([]);
  });

  it('does not retry POST /v1/tenants on 429', async () => {
    srv.script([problem(429, 'KMS_THROTTLED'), { status: 201, body: TENANT }]);
    const e = await caught(client().createTenant({ id: 'acme', name: 'Acme' }));
    expect(e).toMatchObject({ code: 'KMS_THROTTLED', attempts: 1 });
    expect(srv.seen).toHaveLength(1);
  });

  it('does not retry other errors (403, 500)', async () => {
    srv.script([problem(403, 'KEY_REVOKED'), { status: 200, body: TENANT }]);
    expect(await caught(client().getTenant('acme'))).toMatchObject({ code: 'KEY_REVOKED', attempts: 1 });
    srv.script([problem(500, 'INTERNAL'), { status: 200, body: TENANT }]);
    expect(await caught(client().getTenant('acme'))).toMatchObject({ code: 'INTERNAL', status: 500 });
    expect(srv.seen).toHaveLength(1);
  });

  it('honours Retry-After in seconds as a floor under the jittered delay', async () => {
    srv.script([
      {
        ...problem(503, 'KMS_UNAVAILABLE'),
        headers: { 'content-type': 'application/problem+json', 'retry-after': '2' },
      },
      {
        ...problem(429, 'KMS_THROTTLED'),
        headers: { 'content-type': 'application/problem+json', 'retry-after': '0' },
      },
      { status: 200, body: TENANT },
    ]);
    await client({}, 0).getTenant('acme');
    expect(delays).toEqual([2000, 0]);
    expect(srv.seen).toHaveLength(3);
  });

  it('honours Retry-After given as an HTTP date', async () => {
    const at = new Date(Date.now() + 5_000).toUTCString();
    srv.script([
      {
        ...problem(503, 'KMS_UNAVAILABLE'),
        headers: { 'content-type': 'application/problem+json', 'retry-after': at },
      },
      { status: 200, body: TENANT },
    ]);
    await client({}, 0).getTenant('acme');
    expect(delays).toHaveLength(1);
    // Whole seconds in the date: somewhere in the 4-5 s window, never the 0 ms jitter.
    expect(delays[0]).toBeGreaterThan(3000);
    expect(delays[0]).toBeLessThanOrEqual(5000);
  });

  it('fails at once, carrying retryAfterMs, when Retry-After exceeds maxRetryAfterMs', async () => {
    srv.script([
      {
        ...problem(503, 'KMS_UNAVAILABLE'),
        headers: { 'content-type': 'application/problem+json', 'retry-after': '120' },
      },
      { status: 200, body: TENANT },
    ]);
    const e = await caught(client().getTenant('acme'));
    expect(e).toMatchObject({ code: 'KMS_UNAVAILABLE', retryAfterMs: 120_000, attempts: 1 });
    expect(delays).toEqual([]);
  });

  it('retries a connection failure for an idempotent call as NETWORK, but not for createToken', async () => {
    srv.script([
      { status: 0, reset: true },
      { status: 200, body: TENANT },
    ]);
    await expect(client().getTenant('acme')).resolves.toEqual(TENANT);
    expect(srv.seen).toHaveLength(2);

    srv.script([
      { status: 0, reset: true },
      { status: 201, body: {} },
    ]);
    const e = await caught(client().createToken({ name: 'svc', role: 'auditor' }));
    expect(e).toMatchObject({ code: 'NETWORK', status: 0, attempts: 1 });
    expect(e.message).not.toContain(TOKEN);
  });

  it('reports NETWORK when nothing listens', async () => {
    const e = await caught(
      createClient({ baseUrl: 'http://127.0.0.1:1', token: TOKEN, retries: { maxAttempts: 1 } }).health(),
    );
    expect(e).toMatchObject({ code: 'NETWORK', status: 0 });
  });

  it('times out an attempt as TIMEOUT and does not retry it', async () => {
    srv.script([{ status: 0, hang: true }]);
    const e = await caught(client({ timeoutMs: 200 }).getTenant('acme'));
    expect(e).toMatchObject({ code: 'TIMEOUT', status: 0, attempts: 1 });
    expect(srv.seen).toHaveLength(1);
  });

  it('maps a non-problem error page to HTTP_ERROR with its status', async () => {
    srv.script([{ status: 502, headers: { 'content-type': 'text/html' }, body: '<h1>Bad gateway</h1>' }]);
    expect(await caught(client().getTenant('acme'))).toMatchObject({ code: 'HTTP_ERROR', status: 502 });
  });

  it('refuses a response that does not match the contract as RESPONSE_INVALID', async () => {
    srv.script([{ status: 200, body: { id: 'acme', name: 'Acme' } }]);
    expect(await caught(client().getTenant('acme'))).toMatchObject({ code: 'RESPONSE_INVALID', status: 200 });
    srv.script([{ status: 200, body: 'not json' }]);
    expect(await caught(client().getTenant('acme'))).toMatchObject({ code: 'RESPONSE_INVALID' });
  });

  it('drops fields the contract does not list (responses are allow-lists)', async () => {
    srv.script([{ status: 200, body: { ...TENANT, wrappedKey: 'AAAA', internal: true } }]);
    const t = await client().getTenant('acme');
    expect(t).toEqual(TENANT);
    expect(Object.keys(t)).not.toContain('wrappedKey');
  });

  it('refuses a batch answer whose item count does not match the request', async () => {
    srv.script([{ status: 200, body: { results: [{ ok: true, ciphertext: 'AQID' }] } }]);
    const e = await caught(
      client().encryptBatch('acme', [{ plaintext: new Uint8Array([1]) }, { plaintext: new Uint8Array([2]) }]),
    );
    expect(e).toMatchObject({ code: 'RESPONSE_INVALID' });
  });

  it('refuses an iterator whose server repeats a cursor, instead of looping forever', async () => {
    srv.script([{ status: 200, body: { events: [], nextCursor: 'c1' } }]);
    const seen: unknown[] = [];
    const run = async () => {
      for await (const e of client().iterateAudit({ tenantId: 'acme' })) seen.push(e);
    };
    expect(await caught(run())).toMatchObject({ code: 'RESPONSE_INVALID' });
    expect(srv.seen).toHaveLength(2);
    expect(srv.seen[1]?.url).toBe('/v1/audit?tenantId=acme&cursor=c1');
  });

  it('sends no Authorization header to /healthz, and a path prefix in baseUrl is kept', async () => {
    srv.script([{ status: 200, body: { status: 'ok' } }]);
    await expect(client({ baseUrl: `${srv.url}/byok/` }).health()).resolves.toEqual({ status: 'ok' });
    expect(srv.seen[0]?.url).toBe('/byok/healthz');
    expect(srv.seen[0]?.headers.authorization).toBeUndefined();
  });

  it('asks a token function for the current token on every attempt', async () => {
    let n = 0;
    srv.script([problem(503, 'KMS_UNAVAILABLE'), { status: 200, body: TENANT }]);
    await client({ token: () => `rotating_token_${++n}` }).getTenant('acme');
    expect(srv.seen.map((r) => r.headers.authorization)).toEqual([
      'Bearer rotating_token_1',
      'Bearer rotating_token_2',
    ]);
  });

  it('rejects unusable options as CONFIG_INVALID without echoing the token', () => {
    const configError = (o: Partial<ClientOptions>): unknown => {
      try {
        createClient({ baseUrl: srv.url, token: TOKEN, ...o });
      } catch (e) {
        return e;
      }
      return undefined;
    };
    const bad = configError({ token: 'secret token\nwith newline' });
    expect(bad).toBeInstanceOf(ByokApiError);
    expect(bad).toMatchObject({ code: 'CONFIG_INVALID' });
    expect((bad as Error).message).not.toContain('secret token');
    for (const o of [
      { token: '' },
      { baseUrl: 'ftp://x' },
      { baseUrl: 'http://user:pw@host' },
      { baseUrl: 'not a url' },
      { retries: { maxAttempts: 0 } },
      { retries: { baseDelayMs: -1 } },
      { timeoutMs: 0 },
      { batchSize: 1001 },
    ] satisfies Partial<ClientOptions>[])
      expect(configError(o)).toMatchObject({ code: 'CONFIG_INVALID' });
  });
});
