import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { expectProblem, sql } from './acceptance-helpers.js';
import { startTestService, type TestService } from './harness.js';

// A per-address bucket of 30 requests, refilled too slowly to matter during a test.
const BURST = 30;
const limits = { RATE_LIMIT_IP_RPS: '0.01', RATE_LIMIT_IP_BURST: String(BURST) };

/** Reads the tenant with a client-chosen X-Forwarded-For. */
const readAs = (s: TestService, token: string, forwardedFor: string) =>
  s.call('GET', '/v1/tenants/tp/secrets', { token, headers: { 'x-forwarded-for': forwardedFor } });

async function clientAddresses(s: TestService): Promise<string[]> {
  const rows = await sql<{ a: string }>(
    s,
    `SELECT DISTINCT client_address AS a FROM audit_events WHERE tenant_id = 'tp' AND action = 'secret.list'
        AND outcome = 'denied' AND client_address IS NOT NULL`,
  );
  return rows.map((r) => r.a).sort();
}

describe('TRUST_PROXY off (default): a spoofed X-Forwarded-For is ignored', () => {
  let s: TestService;
  let foreign: string;
  beforeAll(async () => {
    s = await startTestService({ env: limits });
    await s.tenant('tp');
    foreign = (await s.tenant('tp-other')).service;
  });
  afterAll(() => s.close());

  it('one bucket for the connection whatever address the client claims, and the peer address audited', async () => {
    // Every request claims another client; all the same come from one connection's address.
    let passed = 0;
    for (let i = 1; i <= BURST + 1; i++) {
      const r = await readAs(s, foreign, `203.0.113.${i}`);
      if (r.status === 429) break;
      passed += 1;
    }
    // The tenant() setup spent part of the same loopback bucket, so fewer than a burst pass.
    expect(passed).toBeLessThan(BURST);
    expectProblem(await readAs(s, foreign, '198.51.100.77'), 429, 'RATE_LIMITED');
    const audited = await clientAddresses(s);
    expect(audited.length).toBeGreaterThan(0);
    for (const a of audited) expect(a).toMatch(/^(::ffff:)?127\.0\.0\.1$|^::1$/);
  });
});

describe('TRUST_PROXY=loopback: the proxy on 127.0.0.1 is believed', () => {
  let s: TestService;
  let foreign: string;
  beforeAll(async () => {
    s = await startTestService({ env: { ...limits, TRUST_PROXY: 'loopback' } });
    await s.tenant('tp');
    foreign = (await s.tenant('tp-other')).service;
  });
  afterAll(() => s.close());

  it('each forwarded client has its own bucket, and its address is the one audited', async () => {
    // 5 clients, one request each (denied: a foreign token, so each is audited in tp's chain).
    for (let i = 1; i <= 5; i++) expect((await readAs(s, foreign, `203.0.113.${i}`)).status).toBe(403);
    // One client past its own burst is limited; the others are not.
    const statuses: number[] = [];
    for (let i = 0; i <= BURST; i++) statuses.push((await readAs(s, foreign, '198.51.100.7')).status);
    expect(statuses.slice(0, BURST).every((x) => x === 403)).toBe(true);
    expect(statuses[BURST]).toBe(429);
    expect((await readAs(s, foreign, '203.0.113.99')).status).toBe(403);
    const audited = await clientAddresses(s);
    expect(audited).toEqual(expect.arrayContaining(['203.0.113.1', '203.0.113.5', '198.51.100.7']));
  });
});
