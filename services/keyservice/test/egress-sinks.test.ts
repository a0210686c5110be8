import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { EgressGuard, type Resolver } from '@byok/egress';
import { startTestService, type TestService } from './harness.js';

/** A listener on 127.0.0.1 that counts every TCP connection made to it. */
async function startCountingListener() {
  // tlsAttempts: TLS handshakes on this plain-HTTP listener (only the https sink by name sends them).
  const state = { connections: 0, requests: 0, tlsAttempts: 0 };
  const server: Server = createServer((req, res) => {
    state.requests += 1;
    req.resume();
    req.on('end', () => res.writeHead(204).end());
  });
  server.on('connection', () => (state.connections += 1));
  server.on('clientError', (_err, sock) => {
    state.tlsAttempts += 1;
    sock.destroy();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { state, server, port: (server.address() as AddressInfo).port };
}

// A name that resolves to loopback, as a DNS rebinding attacker would arrange.
const testResolver: Resolver = async (host) => {
  if (host === 'siem.rebind.test') return [{ address: '127.0.0.1', family: 4 }];
  throw new Error(`no such host ${host}`);
};

async function until(what: string, fn: () => Promise<boolean>, ms = 15000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const fast = { AUDIT_SINK_POLL_MS: '50', AUDIT_SINK_BACKOFF_MS: '50', AUDIT_SINK_MAX_BACKOFF_MS: '200' };

describe('egress guard on SIEM sinks: no connection to loopback or private addresses', () => {
  let strict: TestService;
  let allowing: TestService;
  let rx: Awaited<ReturnType<typeof startCountingListener>>;
  beforeAll(async () => {
    rx = await startCountingListener();
    strict = await startTestService({
      env: { ...fast, SINKS_PER_TENANT: '2' },
      egress: new EgressGuard({ resolver: testResolver }),
    });
    allowing = await startTestService({
      env: { ...fast, EGRESS_ALLOW_CIDRS: '127.0.0.0/8' },
      egress: new EgressGuard({ allowCidrs: ['127.0.0.0/8'], resolver: testResolver }),
    });
  });
  afterAll(async () => {
    await strict?.close();
    await allowing?.close();
    await new Promise((r) => rx?.server.close(r));
  });

  it('refuses sinks at a literal loopback address, localhost and [::1] with 400, connecting nowhere', async () => {
    const t = await strict.tenant('eg-lit');
    for (const host of ['127.0.0.1', 'localhost', '[::1]', '127.1.2.3']) {
      const r = await strict.call('POST', '/v1/tenants/eg-lit/audit/sinks', {
        token: t.admin,
        body: { url: `http://${host}:${rx.port}/hook` },
      });
      expect([host, r.status, r.body.code]).toEqual([host, 400, 'VALIDATION_FAILED']);
    }
    for (const host of ['169.254.169.254', '10.0.0.1', '100.64.0.1', '[fd00::1]', '[ff02::1]', '0.0.0.0']) {
      const r = await strict.call('POST', '/v1/tenants/eg-lit/audit/sinks', {
        token: t.admin,
        body: { url: `https://${host}/hook` },
      });
      expect([host, r.status]).toEqual([host, 400]);
    }
    expect(rx.state.connections).toBe(0);
  });

  it('refuses at delivery, without connecting, a name the resolver maps to 127.0.0.1', async () => {
    const t = await strict.tenant('eg-dns');
    const created = await strict.call('POST', '/v1/tenants/eg-dns/audit/sinks', {
      token: t.admin,
      body: { url: `https://siem.rebind.test:${rx.port}/hook` },
    });
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    await until('a refused delivery', async () => {
      const st = await strict.call('GET', `/v1/tenants/eg-dns/audit/sinks/${id}`, { token: t.auditor });
      return (st.body.attempts as number) >= 2;
    });
    const st = await strict.call('GET', `/v1/tenants/eg-dns/audit/sinks/${id}`, { token: t.auditor });
    expect(st.body.lastError).toMatch(/allow-list/);
    expect(st.body.lastDeliveredSeq).toBe(0);
    expect(rx.state.connections).toBe(0);
  });

  it('does connect when EGRESS_ALLOW_CIDRS allows 127.0.0.0/8 (the guard is not simply off)', async () => {
    const t = await allowing.tenant('eg-ok');
    const before = rx.state.connections;
    const byIp = await allowing.call('POST', '/v1/tenants/eg-ok/audit/sinks', {
      token: t.admin,
      body: { url: `http://127.0.0.1:${rx.port}/hook` },
    });
    expect(byIp.status).toBe(201);
    await until('a delivery', async () => rx.state.requests > 0);
    const byName = await allowing.call('POST', '/v1/tenants/eg-ok/audit/sinks', {
      token: t.admin,
      body: { url: `https://siem.rebind.test:${rx.port}/hook` },
    });
    expect(byName.status).toBe(201);
    expect(rx.state.connections).toBeGreaterThan(before);
    // The resolver's answer is where the guard connects: the https sink's TLS handshake arrives on
    // this plain listener (and fails), which no delivery by IP (plain http) can cause.
    await until('a TLS handshake from the sink by name', async () => rx.state.tlsAttempts > 0);
  });

  it('caps sinks per tenant and masks a query string in listings', async () => {
    const t = await strict.tenant('eg-cap');
    const a = await strict.call('POST', '/v1/tenants/eg-cap/audit/sinks', {
      token: t.admin,
      body: { url: 'https://siem.example.com/in?token=s3cr3t-value' },
    });
    expect(a.status).toBe(201);
    expect(a.text).not.toContain('s3cr3t-value');
    const b = await strict.call('POST', '/v1/tenants/eg-cap/audit/sinks', {
      token: t.admin,
      body: { url: 'https://siem.example.com/b' },
    });
    expect(b.status).toBe(201);
    const c = await strict.call('POST', '/v1/tenants/eg-cap/audit/sinks', {
      token: t.admin,
      body: { url: 'https://siem.example.com/c' },
    });
    expect([c.status, c.body.code]).toEqual([409, 'CONFLICT']);
    const list = await strict.call('GET', '/v1/tenants/eg-cap/audit/sinks', { token: t.auditor });
    expect(list.status).toBe(200);
    expect(list.text).not.toContain('s3cr3t-value');
    expect((list.body.sinks as { url: string }[]).map((s) => s.url)).toContain(
      'https://siem.example.com/in?***',
    );
    // Disabling one frees a place.
    await strict.call('DELETE', `/v1/tenants/eg-cap/audit/sinks/${b.body.id as string}`, { token: t.admin });
    const d = await strict.call('POST', '/v1/tenants/eg-cap/audit/sinks', {
      token: t.admin,
      body: { url: 'https://siem.example.com/d' },
    });
    expect(d.status).toBe(201);
  });
});
