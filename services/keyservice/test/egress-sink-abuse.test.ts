import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startTestService, type TestService } from './harness.js';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

async function listen(handler: Handler) {
  const server: Server = createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook` };
}

async function until(what: string, fn: () => Promise<boolean> | boolean, ms = 15000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const MiB = 1024 * 1024;

describe('sinks cannot exhaust memory, pool or other tenants', () => {
  let s: TestService;
  const servers: Server[] = [];
  beforeAll(async () => {
    s = await startTestService({
      env: {
        AUDIT_SINK_POLL_MS: '50',
        AUDIT_SINK_BACKOFF_MS: '50',
        AUDIT_SINK_MAX_BACKOFF_MS: '200',
        AUDIT_SINK_TIMEOUT_MS: '20000',
        EGRESS_ALLOW_CIDRS: '127.0.0.0/8',
      },
    });
  });
  afterAll(async () => {
    await s?.close();
    for (const srv of servers) {
      srv.closeAllConnections();
      await new Promise((r) => srv.close(r));
    }
  });

  it('reads at most 64 KiB of a sink answering 300 MiB: RSS grows by under 20 MB', async () => {
    let sent = 0;
    let requests = 0;
    const big = await listen((req, res) => {
      requests += 1;
      req.resume();
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      const chunk = Buffer.alloc(MiB, 0x61);
      const pump = () => {
        while (sent < 300 * MiB) {
          sent += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
        res.end();
      };
      res.on('close', () => res.removeAllListeners('drain'));
      pump();
    });
    servers.push(big.server);
    global.gc?.();
    const before = process.memoryUsage().rss;
    const t = await s.tenant('ab-big');
    const r = await s.call('POST', '/v1/tenants/ab-big/audit/sinks', {
      token: t.admin,
      body: { url: big.url },
    });
    expect(r.status).toBe(201);
    await until('a delivery', () => requests > 0);
    await until('the sink to be marked delivered', async () => {
      const st = await s.call('GET', `/v1/tenants/ab-big/audit/sinks/${r.body.id as string}`, {
        token: t.auditor,
      });
      return (st.body.lastDeliveredSeq as number) > 0;
    });
    const grown = process.memoryUsage().rss - before;
    expect(sent).toBeLessThan(300 * MiB);
    expect(grown).toBeLessThan(20 * MiB);
  });

  it("keeps delivering another tenant's events while one tenant's sink hangs, holding no pool connection", async () => {
    const hanging: ServerResponse[] = [];
    const hang = await listen((req, res) => {
      req.resume();
      hanging.push(res);
    });
    servers.push(hang.server);
    let received = 0;
    const ok = await listen((req, res) => {
      req.resume();
      req.on('end', () => {
        received += 1;
        res.writeHead(204).end();
      });
    });
    servers.push(ok.server);

    const a = await s.tenant('ab-hang');
    const b = await s.tenant('ab-ok');
    expect(
      (await s.call('POST', '/v1/tenants/ab-hang/audit/sinks', { token: a.admin, body: { url: hang.url } }))
        .status,
    ).toBe(201);
    await until('the hanging sink to be called', () => hanging.length > 0);
    const started = Date.now();
    expect(
      (await s.call('POST', '/v1/tenants/ab-ok/audit/sinks', { token: b.admin, body: { url: ok.url } }))
        .status,
    ).toBe(201);
    await until('the other tenant to receive its events', () => received > 0, 5000);
    // Its normal delay: a few poll intervals, far below the 20 s deadline the hanging sink holds.
    expect(Date.now() - started).toBeLessThan(2000);

    // While the POST hangs, the pool has no connection checked out (sampled; requests are idle).
    const pool = s.service.store.pool;
    let minBusy = Number.POSITIVE_INFINITY;
    for (let i = 0; i < 20; i++) {
      minBusy = Math.min(minBusy, pool.totalCount - pool.idleCount);
      await new Promise((r) => setTimeout(r, 25));
    }
    expect(hanging.some((res) => !res.writableEnded)).toBe(true);
    expect(minBusy).toBe(0);
  });
});
