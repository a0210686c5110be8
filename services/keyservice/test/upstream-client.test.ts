import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { EgressGuard } from '@byok/egress';
import { createTestCa } from '../../../test/support/test-ca.js';
import { UpstreamClient, type UpstreamRequest } from '../src/domain/ai/upstream-client.js';
import { AppError } from '../src/errors.js';

/** A loopback server that counts connections and answers with `handler`. */
async function serve(
  handler: http.RequestListener,
  tlsCert?: { key: Buffer; cert: Buffer },
): Promise<{ url: string; port: number; connections: () => number; close: () => Promise<void> }> {
  const server = tlsCert ? https.createServer(tlsCert, handler) : http.createServer(handler);
  let connections = 0;
  server.on(tlsCert ? 'secureConnection' : 'connection', () => connections++);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `${tlsCert ? 'https' : 'http'}://127.0.0.1:${port}`,
    port,
    connections: () => connections,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

const loopbackGuard = (resolveTo?: string) =>
  new EgressGuard({
    allowCidrs: ['127.0.0.0/8'],
    ...(resolveTo ? { resolver: async () => [{ address: resolveTo, family: 4 as const }] } : {}),
  });

const get = (signal = new AbortController().signal): UpstreamRequest => ({
  method: 'GET',
  headers: { accept: 'application/json' },
  body: undefined,
  signal,
});

const TIMEOUTS = { responseMs: 5_000, idleMs: 5_000 };

async function refusalOf(p: Promise<unknown>): Promise<AppError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof AppError) return err;
    throw err;
  }
  throw new Error('expected a refusal');
}

const codeOf = async (p: Promise<unknown>): Promise<string> => (await refusalOf(p)).code;

describe('UpstreamClient', () => {
  it('sends the request as given (method, headers, body with its length) and hands the body over unread', async () => {
    let seen: { method?: string; headers?: http.IncomingHttpHeaders; body?: string } = {};
    const up = await serve((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        seen = { method: req.method, headers: req.headers, body };
        res.writeHead(201, { 'content-type': 'application/json', 'x-request-id': 'req_1' });
        res.end('{"ok":true}');
      });
    });
    const client = new UpstreamClient(loopbackGuard(), TIMEOUTS);
    try {
      const res = await client.send(new URL(`${up.url}/v1/chat/completions?x=1`), {
        method: 'POST',
        headers: { authorization: 'Bearer sk-test', 'content-type': 'application/json' },
        body: Buffer.from('{"a":1}'),
        signal: new AbortController().signal,
      });
      let text = '';
      for await (const c of res.body) text += (c as Buffer).toString();
      expect(res.status).toBe(201);
      expect(res.headers['x-request-id']).toBe('req_1');
      expect(text).toBe('{"ok":true}');
      expect(seen.method).toBe('POST');
      expect(seen.body).toBe('{"a":1}');
      expect(seen.headers?.['content-length']).toBe('7');
      expect(seen.headers?.authorization).toBe('Bearer sk-test');
      // Kept alive: a later call reuses the connection.
      await new Promise((r) => setTimeout(r, 10));
      const again = await client.send(new URL(`${up.url}/v1/models`), get());
      for await (const _ of again.body) void _;
      expect(up.connections()).toBe(1);
    } finally {
      await client.close();
      await up.close();
    }
  });

  it('never connects to an address outside the egress allow-list (literal address or resolved name)', async () => {
    const up = await serve((_req, res) => res.end('{}'));
    const strict = new UpstreamClient(new EgressGuard(), TIMEOUTS);
    // A public-looking name that resolves to loopback (DNS rebinding): the resolved address is checked.
    const rebound = new UpstreamClient(
      new EgressGuard({ resolver: async () => [{ address: '127.0.0.1', family: 4 }] }),
      TIMEOUTS,
    );
    try {
      // Said as the egress guard's refusal, not as an unreachable provider.
      expect((await refusalOf(strict.send(new URL(`${up.url}/v1/models`), get()))).message).toMatch(
        /egress allow-list/,
      );
      expect(await codeOf(strict.send(new URL(`${up.url}/v1/models`), get()))).toBe(
        'AI_UPSTREAM_UNAVAILABLE',
      );
      expect(
        await codeOf(rebound.send(new URL(`http://api.openai.example:${up.port}/v1/models`), get())),
      ).toBe('AI_UPSTREAM_UNAVAILABLE');
      expect(up.connections()).toBe(0);
    } finally {
      await strict.close();
      await rebound.close();
      await up.close();
    }
  });

  it('dials the address the guard checked, and TLS still verifies the provider name', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'upstream-tls-'));
    // Two CAs, each with a leaf for a different name.
    const goodCa = createTestCa(dir, 'provider');
    const otherCa = createTestCa(dir, 'other');
    const right = await serve(
      (_req, res) => res.end('{"tls":true}'),
      goodCa.issue('api', 'server', ['api.provider.test']),
    );
    const wrong = await serve(
      (_req, res) => res.end('{"tls":true}'),
      otherCa.issue('other', 'server', ['other.test']),
    );
    // The name resolves (through the guard's resolver) to the loopback server; DNS is never asked.
    const trusting = (ca: Buffer) => new UpstreamClient(loopbackGuard('127.0.0.1'), TIMEOUTS, { ca });
    const a = trusting(goodCa.cert);
    const b = trusting(otherCa.cert);
    try {
      const ok = await a.send(new URL(`https://api.provider.test:${right.port}/v1/models`), get());
      let text = '';
      for await (const c of ok.body) text += (c as Buffer).toString();
      expect(text).toBe('{"tls":true}');
      // A certificate from a trusted CA that does not name api.provider.test: refused.
      expect(await codeOf(b.send(new URL(`https://api.provider.test:${wrong.port}/v1/models`), get()))).toBe(
        'AI_UPSTREAM_UNAVAILABLE',
      );
    } finally {
      await a.close();
      await b.close();
      await right.close();
      await wrong.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  describe('deadlines', () => {
    let up: Awaited<ReturnType<typeof serve>>;
    const stalled: http.ServerResponse[] = [];
    beforeAll(async () => {
      up = await serve((req, res) => {
        stalled.push(res);
        if (req.url === '/no-headers') return; // never answers
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.write('data: {"first":true}\n\n'); // then silence
      });
    });
    afterAll(() => up.close());

    it('AI_UPSTREAM_TIMEOUT when no response headers come within the response deadline', async () => {
      const client = new UpstreamClient(loopbackGuard(), { responseMs: 300, idleMs: 60_000 });
      const t0 = performance.now();
      try {
        expect(await codeOf(client.send(new URL(`${up.url}/no-headers`), get()))).toBe('AI_UPSTREAM_TIMEOUT');
        // The promised bound, with a generous margin for a loaded machine.
        expect(performance.now() - t0).toBeLessThan(300 + 2_000);
      } finally {
        await client.close();
      }
    });

    it('cuts a stream that stays silent longer than the idle deadline', async () => {
      const client = new UpstreamClient(loopbackGuard(), { responseMs: 60_000, idleMs: 300 });
      try {
        const res = await client.send(new URL(`${up.url}/stall`), get());
        const t0 = performance.now();
        const chunks: string[] = [];
        const ended = await new Promise<string>((resolve) => {
          res.body.on('data', (c: Buffer) => chunks.push(c.toString()));
          res.body.on('error', (e: Error) => resolve(e.name));
          res.body.on('end', () => resolve('end'));
        });
        expect(chunks.join('')).toBe('data: {"first":true}\n\n');
        expect(ended).toBe('BodyTimeoutError');
        expect(performance.now() - t0).toBeLessThan(300 + 2_000);
      } finally {
        await client.close();
      }
    });

    it('the caller going away closes the upstream request', async () => {
      const client = new UpstreamClient(loopbackGuard(), { responseMs: 60_000, idleMs: 60_000 });
      try {
        const aborted = new AbortController();
        const res = await client.send(new URL(`${up.url}/stall`), get(aborted.signal));
        const serverSide = stalled.at(-1) as http.ServerResponse;
        const closed = new Promise<void>((r) => serverSide.once('close', () => r()));
        res.body.on('error', () => undefined);
        aborted.abort();
        await closed;
        expect(serverSide.writableFinished).toBe(false);
      } finally {
        await client.close();
      }
    });
  });
});
