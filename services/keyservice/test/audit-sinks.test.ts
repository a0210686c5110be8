import { createHmac } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { parseExportLine, verifyEvents, type ChainedAuditEvent } from '@byok/audit';
import { startTestService, type TestService } from './harness.js';

interface Delivery {
  signature: string;
  expected: string;
  events: { seq: number; chain: string }[];
  raw: string;
}

/** A SIEM webhook receiver that can be switched down (503) and up. */
async function startReceiver() {
  const state = { up: false, deliveries: [] as Delivery[], refused: 0, secret: '' };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (!state.up) {
        state.refused += 1;
        res.writeHead(503).end();
        return;
      }
      const raw = Buffer.concat(chunks).toString('utf8');
      const body = JSON.parse(raw) as { events: { seq: number; chain: string }[] };
      state.deliveries.push({
        signature: String(req.headers['x-byok-signature']),
        expected: `sha256=${createHmac('sha256', state.secret).update(raw).digest('hex')}`,
        events: body.events,
        raw,
      });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { state, server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook` };
}

async function until(what: string, fn: () => Promise<boolean>, ms = 20000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('SIEM sinks: durable per-sink cursor over the chain, signed batches, retries', () => {
  let s: TestService;
  let rx: Awaited<ReturnType<typeof startReceiver>>;
  beforeAll(async () => {
    s = await startTestService({
      env: {
        AUDIT_SINK_POLL_MS: '50',
        AUDIT_SINK_BACKOFF_MS: '50',
        AUDIT_SINK_MAX_BACKOFF_MS: '200',
        // The receiver listens on loopback, which the egress guard refuses by default.
        EGRESS_ALLOW_CIDRS: '127.0.0.0/8',
      },
    });
    rx = await startReceiver();
  });
  afterAll(async () => {
    await s?.close();
    await new Promise((r) => rx?.server.close(r));
  });

  it('keeps serving while the sink is down, then delivers every event in order, none lost', async () => {
    const t = await s.tenant('sk-acme');
    const created = await s.call('POST', '/v1/tenants/sk-acme/audit/sinks', {
      token: t.admin,
      body: { url: rx.url, batchSize: 7 },
    });
    expect(created.status).toBe(201);
    expect(created.body.secret).toMatch(/^whsec_/);
    rx.state.secret = created.body.secret as string;
    const id = created.body.id as string;
    // The secret is shown once: never in the state view.
    const state0 = await s.call('GET', `/v1/tenants/sk-acme/audit/sinks/${id}`, { token: t.auditor });
    expect(state0.status).toBe(200);
    expect(state0.text).not.toContain(rx.state.secret);

    // Sink down: every request still succeeds.
    for (let i = 0; i < 15; i++) {
      const enc = await s.call('POST', '/v1/tenants/sk-acme/encrypt', {
        token: t.service,
        body: { plaintext: Buffer.from(`row ${i}`).toString('base64') },
      });
      expect(enc.status).toBe(200);
      const dec = await s.call('POST', '/v1/tenants/sk-acme/decrypt', {
        token: t.service,
        body: { ciphertext: enc.body.ciphertext },
      });
      expect(dec.status).toBe(200);
    }
    await until('a failed attempt', async () => rx.state.refused >= 2);
    const down = await s.call('GET', `/v1/tenants/sk-acme/audit/sinks/${id}`, { token: t.auditor });
    expect(down.body).toMatchObject({ lastDeliveredSeq: 0, lastError: 'HTTP 503' });
    expect(down.body.attempts).toBeGreaterThanOrEqual(1);
    expect(down.body.lag).toBeGreaterThan(15);
    expect(rx.state.deliveries).toHaveLength(0);

    rx.state.up = true;
    let head = 0;
    await until('the sink to catch up', async () => {
      const st = await s.call('GET', `/v1/tenants/sk-acme/audit/sinks/${id}`, { token: t.auditor });
      head = st.body.headSeq as number;
      return st.body.lag === 0 && head > 0;
    });
    const st = await s.call('GET', `/v1/tenants/sk-acme/audit/sinks/${id}`, { token: t.auditor });
    expect(st.body).toMatchObject({ attempts: 0, lastError: null, lastDeliveredSeq: head });

    for (const d of rx.state.deliveries) {
      expect(d.signature).toBe(d.expected);
      expect(d.events.length).toBeLessThanOrEqual(7);
    }
    // At least once: de-duplicate on (chain, seq); the result is exactly 1..head, in order.
    const seen = new Map<number, string>();
    const order: number[] = [];
    for (const d of rx.state.deliveries)
      for (const e of d.events) {
        expect(e.chain).toBe('sk-acme');
        if (!seen.has(e.seq)) order.push(e.seq);
        seen.set(e.seq, JSON.stringify(e));
      }
    expect(order).toEqual(Array.from({ length: head }, (_, i) => i + 1));
    // What the SIEM received is the chain itself: it verifies with the pure functions.
    const events: ChainedAuditEvent[] = order.map((seq, i) => {
      const p = parseExportLine(seen.get(seq) as string, i + 1);
      if (p.type !== 'event') throw new Error('not an event');
      return p.event;
    });
    expect(await verifyEvents(events)).toMatchObject({ ok: true, checked: head });
  });

  it('refuses plain http to a non-loopback host and credentials in the url', async () => {
    const t = await s.tenant('sk-bad');
    for (const url of ['http://example.com/hook', 'ftp://127.0.0.1/x', 'https://u:p@siem.example.com/x']) {
      const r = await s.call('POST', '/v1/tenants/sk-bad/audit/sinks', { token: t.admin, body: { url } });
      expect(r.status).toBe(400);
      expect(r.body.code).toBe('VALIDATION_FAILED');
    }
    const ok = await s.call('POST', '/v1/tenants/sk-bad/audit/sinks', {
      token: t.admin,
      body: { url: 'https://siem.example.com/hook', startAt: 'now' },
    });
    expect(ok.status).toBe(201);
    expect(ok.body.lastDeliveredSeq).toBeGreaterThan(0);
  });

  it("hides a tenant's sinks from other tenants and from service tokens", async () => {
    const a = await s.tenant('sk-a');
    const b = await s.tenant('sk-b');
    const made = await s.call('POST', '/v1/tenants/sk-a/audit/sinks', {
      token: a.admin,
      body: { url: 'https://siem.example.com/a' },
    });
    expect(made.status).toBe(201);
    const id = made.body.id as string;
    expect((await s.call('GET', `/v1/tenants/sk-a/audit/sinks/${id}`, { token: b.auditor })).status).toBe(
      403,
    );
    expect((await s.call('GET', `/v1/tenants/sk-b/audit/sinks/${id}`, { token: b.auditor })).status).toBe(
      404,
    );
    expect(
      (
        await s.call('POST', '/v1/tenants/sk-a/audit/sinks', {
          token: a.service,
          body: { url: 'https://x.example/h' },
        })
      ).status,
    ).toBe(403);
    expect((await s.call('DELETE', `/v1/tenants/sk-a/audit/sinks/${id}`, { token: a.admin })).status).toBe(
      204,
    );
    const after = await s.call('GET', `/v1/tenants/sk-a/audit/sinks/${id}`, { token: a.auditor });
    expect(after.body.enabled).toBe(false);
  });
});
