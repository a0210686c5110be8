import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createServer, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { MAX_BATCH_ITEMS, MAX_PLAINTEXT_BYTES } from '@byok/contract';
import { serverTimeouts } from '../../src/http/listeners.js';
import { startTestService, type TestService } from '../harness.js';
import { changedTables, snapshot } from './fuzz-support.js';

// Requests written byte by byte on a socket, past what an HTTP client would send: chunked bodies
// over the limit, lying Content-Length, oversized and duplicate headers, slow headers; and the
// real limits (1,000 batch items, 1 MiB plaintexts) under the production body limit (4 MiB), not
// a small test limit. Never a 5xx, nothing stored changes, and the service keeps serving.

const HEADERS_MS = 1000;
const REQUEST_MS = 3000;

/** What came back on one connection: every status line's code, the raw text, and whether it closed. */
interface Exchange {
  statuses: number[];
  text: string;
  closed: boolean;
  closedAfterMs: number;
}

type Step = string | Buffer | { waitMs: number } | 'half-close';

/** Writes `steps` to a new connection and reads until the server closes it or `readMs` pass. */
function exchange(port: number, steps: Step[], readMs = 2000): Promise<Exchange> {
  return new Promise((resolve) => {
    const started = Date.now();
    const sock = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    let closed = false;
    let closedAfterMs = -1;
    let timer: NodeJS.Timeout | undefined;
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      const text = Buffer.concat(chunks).toString('latin1');
      const statuses = [...text.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => Number(m[1]));
      resolve({ statuses, text, closed, closedAfterMs });
    };
    sock.on('data', (c: Buffer) => chunks.push(c));
    // Writes after the server answered and closed fail with EPIPE/ECONNRESET: expected here.
    sock.on('error', () => undefined);
    sock.on('close', () => {
      closed = true;
      closedAfterMs = Date.now() - started;
      finish();
    });
    sock.on('connect', async () => {
      for (const step of steps) {
        if (sock.destroyed) break;
        if (step === 'half-close') sock.end();
        else if (typeof step === 'object' && 'waitMs' in step)
          await new Promise((r) => setTimeout(r, step.waitMs));
        else if (!sock.write(step)) await new Promise((r) => sock.once('drain', r));
      }
      if (!done) timer = setTimeout(finish, readMs);
    });
  });
}

describe('raw-socket abuse of the listener, and the real request limits', () => {
  let s: TestService;
  let server: Server;
  let port: number;
  let service: string;
  let before: Record<string, string>;

  beforeAll(async () => {
    s = await startTestService();
    service = (await s.tenant('rs')).service;
    server = createServer(
      serverTimeouts({ headersMs: HEADERS_MS, requestMs: REQUEST_MS, keepAliveMs: 5000 }),
      s.service.app,
    );
    server.listen(0, '127.0.0.1');
    await new Promise<void>((r) => server.once('listening', r));
    port = (server.address() as AddressInfo).port;
    before = await snapshot(s);
  });
  afterAll(async () => {
    server?.closeAllConnections();
    await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
    await s?.close();
  });

  const head = (method: string, path: string, extra: string[] = [], token = service) =>
    [
      `${method} ${path} HTTP/1.1`,
      'Host: localhost',
      'Connection: close',
      `Authorization: Bearer ${token}`,
      ...extra,
      '',
      '',
    ].join('\r\n');
  const noServerError = (x: Exchange) =>
    expect({ statuses: x.statuses, fine: x.statuses.every((c) => c < 500) }).toEqual({
      statuses: x.statuses,
      fine: true,
    });
  const unchanged = async () => {
    const now = await snapshot(s);
    expect(changedTables(before, now)).toEqual([]);
    before = now;
  };

  it('a chunked body over the 4 MiB limit: 413 PAYLOAD_TOO_LARGE, nothing stored', async () => {
    const chunk = 'A'.repeat(64 * 1024);
    const steps: Step[] = [
      head('POST', '/v1/tenants/rs/encrypt', [
        'Content-Type: application/json',
        'Transfer-Encoding: chunked',
      ]),
      `${Buffer.byteLength('{"plaintext":"').toString(16)}\r\n{"plaintext":"\r\n`,
    ];
    for (let sent = 0; sent <= 4 * 1024 * 1024; sent += chunk.length)
      steps.push(`${chunk.length.toString(16)}\r\n${chunk}\r\n`);
    steps.push('2\r\n"}\r\n0\r\n\r\n');
    const x = await exchange(port, steps);
    expect(x.statuses[0]).toBe(413);
    expect(x.text).toContain('"code":"PAYLOAD_TOO_LARGE"');
    noServerError(x);
    await unchanged();
  });

  it('a Content-Length shorter than the body: the cut body is a 400, the rest is refused as a request', async () => {
    const body = '{"plaintext":"QQ=="}';
    const x = await exchange(port, [
      head('POST', '/v1/tenants/rs/encrypt', ['Content-Type: application/json', 'Content-Length: 10']),
      body,
    ]);
    // Our 400 MALFORMED_REQUEST for the cut body, or Node's own 400 for the rest of it (read as the
    // next request while the first is parsed), which closes the connection before ours is written.
    expect(x.statuses[0]).toBe(400);
    noServerError(x);
    await unchanged();
  });

  it('a Content-Length longer than the body: cut off at the request timeout (408) or on close, never a 5xx', async () => {
    const body = '{"plaintext":"QQ=="}';
    const waits = await exchange(
      port,
      [
        head('POST', '/v1/tenants/rs/encrypt', ['Content-Type: application/json', 'Content-Length: 100']),
        body,
      ],
      REQUEST_MS + 5000,
    );
    // Node's request timeout: within REQUEST_MS plus its check interval (<= 1 s) and a 4 s margin.
    expect(waits.closed).toBe(true);
    expect(waits.closedAfterMs).toBeLessThan(REQUEST_MS + 5000);
    noServerError(waits);
    const gone = await exchange(port, [
      head('POST', '/v1/tenants/rs/encrypt', ['Content-Type: application/json', 'Content-Length: 100']),
      body,
      'half-close',
    ]);
    noServerError(gone);
    await unchanged();
  });

  it('headers over the size limit: 431', async () => {
    const x = await exchange(port, [head('GET', '/v1/tenants/rs/secrets', [`X-Big: ${'a'.repeat(20_000)}`])]);
    expect(x.statuses).toEqual([431]);
    const many = await exchange(port, [
      head(
        'GET',
        '/v1/tenants/rs/secrets',
        Array.from({ length: 3000 }, (_, i) => `X-H${i}: v`),
      ),
    ]);
    expect(many.statuses[0]).toBe(431);
    await unchanged();
  });

  it('duplicate headers: two Content-Lengths or Content-Length with chunked are refused, two tokens are 401', async () => {
    const body = '{"plaintext":"QQ=="}';
    const twoLengths = await exchange(port, [
      head('POST', '/v1/tenants/rs/encrypt', [
        'Content-Type: application/json',
        'Content-Length: 20',
        'Content-Length: 5',
      ]),
      body,
    ]);
    expect(twoLengths.statuses).toEqual([400]);
    const lengthAndChunked = await exchange(port, [
      head('POST', '/v1/tenants/rs/encrypt', [
        'Content-Type: application/json',
        'Content-Length: 20',
        'Transfer-Encoding: chunked',
      ]),
      body,
    ]);
    expect(lengthAndChunked.statuses).toEqual([400]);
    // Node keeps the first of two Authorization headers, a proxy may keep the last: refused either way.
    for (const pair of [
      ['byok_bogus_0123456789abcdef', service],
      [service, 'byok_bogus_0123456789abcdef'],
      [service, service],
    ]) {
      const x = await exchange(port, [
        head('GET', '/v1/tenants/rs/secrets', [`Authorization: Bearer ${pair[1]}`], pair[0]),
      ]);
      expect(x.statuses[0]).toBe(401);
      expect(x.text).toContain('"code":"UNAUTHENTICATED"');
    }
    const twoHosts = await exchange(port, [head('GET', '/v1/tenants/rs/secrets', ['Host: evil.example'])]);
    noServerError(twoHosts);
    expect(twoHosts.statuses.length).toBeGreaterThan(0);
    await unchanged();
  });

  it('slow headers (one byte every 100 ms) are cut off at the header timeout', async () => {
    const text = head('GET', '/v1/tenants/rs/secrets');
    const steps: Step[] = [];
    for (const ch of text) steps.push(ch, { waitMs: 100 });
    const x = await exchange(port, steps, 15_000);
    expect(x.closed).toBe(true);
    // HEADERS_MS, plus the server's check interval (a quarter of it) and a 2 s margin for a busy machine.
    expect(x.closedAfterMs).toBeLessThan(HEADERS_MS + HEADERS_MS / 4 + 2000);
    noServerError(x);
    expect(x.statuses.filter((c) => c !== 408)).toEqual([]);
  });

  it(`the batch limit: ${MAX_BATCH_ITEMS} items are encrypted, ${MAX_BATCH_ITEMS + 1} are a 400 and nothing is stored`, async () => {
    const items = (n: number) =>
      Array.from({ length: n }, (_, i) => ({ plaintext: Buffer.from(`item ${i}`).toString('base64') }));
    const ok = await s.call('POST', '/v1/tenants/rs/encrypt/batch', {
      token: service,
      body: { items: items(MAX_BATCH_ITEMS) },
    });
    expect(ok.status).toBe(200);
    expect(ok.body.results).toHaveLength(MAX_BATCH_ITEMS);
    before = await snapshot(s);
    const over = await s.call('POST', '/v1/tenants/rs/encrypt/batch', {
      token: service,
      body: { items: items(MAX_BATCH_ITEMS + 1) },
    });
    expect(over.status).toBe(400);
    expect(over.body.code).toBe('VALIDATION_FAILED');
    await unchanged();
  });

  it('the plaintext limit: 1 MiB encrypts and decrypts, 1 MiB + 1 byte is a 400, a 4 MiB + 1 body a 413', async () => {
    const exact = Buffer.alloc(MAX_PLAINTEXT_BYTES, 7);
    const enc = await s.call('POST', '/v1/tenants/rs/encrypt', {
      token: service,
      body: { plaintext: exact.toString('base64') },
    });
    expect(enc.status).toBe(200);
    const dec = await s.call('POST', '/v1/tenants/rs/decrypt', {
      token: service,
      body: { ciphertext: enc.body.ciphertext },
    });
    expect(dec.status).toBe(200);
    expect(Buffer.from(dec.body.plaintext as string, 'base64').equals(exact)).toBe(true);
    before = await snapshot(s);
    for (const n of [MAX_PLAINTEXT_BYTES + 1, MAX_PLAINTEXT_BYTES + 2, MAX_PLAINTEXT_BYTES + 3]) {
      const over = await s.call('POST', '/v1/tenants/rs/encrypt', {
        token: service,
        body: { plaintext: Buffer.alloc(n, 7).toString('base64') },
      });
      expect({ n, status: over.status, code: over.body.code }).toEqual({
        n,
        status: 400,
        code: 'VALIDATION_FAILED',
      });
    }
    const huge = await s.call('POST', '/v1/tenants/rs/encrypt', {
      token: service,
      raw: `{"plaintext":"${'A'.repeat(4 * 1024 * 1024)}"}`,
    });
    expect(huge.status).toBe(413);
    expect(huge.body.code).toBe('PAYLOAD_TOO_LARGE');
    await unchanged();
  });

  it('still serves after all of it', async () => {
    const r = await s.call('POST', '/v1/tenants/rs/encrypt', { token: service, body: { plaintext: 'QQ==' } });
    expect(r.status).toBe(200);
    const x = await exchange(port, [head('GET', '/healthz')], 500);
    expect(x.statuses).toEqual([200]);
  });
});
