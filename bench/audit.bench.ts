/**
 * Cost of the audit log and export throughput (issue 6). `pnpm bench:audit [--json] [--quick]
 * [--export-rows N]` on PostgreSQL (DATABASE_URL, else 127.0.0.1:5432; skipped without one).
 * 1. Audited decrypts/s (hash chain + group commit, one SIEM sink registered so the outbox
 *    dispatcher runs) beside the same decrypts with a no-op audit appender, interleaved rounds of
 *    autocannon (50 connections), as a ratio. Target >= 0.7.
 * 2. Export of N synthetic events (default 1,000,000) streamed over HTTP and verified offline
 *    on the fly: rate, bytes, peak RSS.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import autocannon from 'autocannon';
import { verifyExport } from '../packages/audit/src/index.js';
import { linesOf, seedSyntheticChain } from '../packages/audit/test/synthetic-chain.js';
import { createTestDatabase, type TestDatabase } from '../packages/store/src/testing.js';
import { loadConfig } from '../services/keyservice/src/config.js';
import { createLogger } from '../services/keyservice/src/logger.js';
import { buildService, type Service } from '../services/keyservice/src/service.js';
import { summarize } from './lib/stats.js';
import { findDatabase } from './support/find-database.js';

const argv = process.argv.slice(2);
const json = argv.includes('--json');
const quick = argv.includes('--quick');
const rowsArg = argv.indexOf('--export-rows');
const EXPORT_ROWS = rowsArg >= 0 ? Number(argv[rowsArg + 1]) : quick ? 100_000 : 1_000_000;
const ROUNDS = quick ? 2 : 5;
const ROUND_SECONDS = quick ? 2 : 4;
const TARGET = 0.7;
const ADMIN = `bench_audit_admin_${Date.now()}_0123456789abcdef`;
const say = (s: string) => process.stderr.write(`[audit] ${s}\n`);

if ((await findDatabase()) === 'embedded PGlite') {
  // Nothing to measure without a PostgreSQL server: a visible skip, not a failure of the run.
  const reason = 'needs PostgreSQL (set DATABASE_URL or run one on 127.0.0.1:5432)';
  process.stderr.write(`bench:audit skipped: ${reason}\n`);
  if (json) console.log(JSON.stringify({ name: 'audit', skipped: reason }));
  process.exit(0);
}

interface Running {
  service: Service;
  db: TestDatabase;
  url: string;
  close(): Promise<void>;
}

async function start(audit: boolean): Promise<Running> {
  const db = await createTestDatabase({ require: 'postgres' });
  const config = loadConfig({
    BYOK_MODE: 'development',
    DATABASE_URL: db.databaseUrl,
    DATA_DIR: `/tmp/byok-bench-audit-${audit ? 'on' : 'off'}-${process.pid}`,
    BOOTSTRAP_ADMIN_TOKEN: ADMIN,
    LOG_LEVEL: 'silent',
    KMS_PROVIDERS: 'local',
    AUDIT_SINK_POLL_MS: '200',
    // The SIEM sink is a loopback server in this process: the egress guard must let it through.
    EGRESS_ALLOW_CIDRS: '127.0.0.0/8',
  });
  const service = await buildService(config, {
    logger: createLogger('silent'),
    ...(audit ? {} : { auditAppender: { record: async () => undefined } }),
  });
  const server = service.app.listen(0, '127.0.0.1');
  await new Promise<void>((r) => server.once('listening', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    service,
    db,
    url,
    async close() {
      await new Promise<void>((r) => server.close(() => r()));
      await service.close();
      await db.drop();
    },
  };
}

async function call(url: string, method: string, path: string, token: string, body?: unknown) {
  const res = await fetch(url + path, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return text ? (JSON.parse(text) as Record<string, unknown>) : {};
}

/** Creates tenant `bench`, returns the decrypt request body and a service token. */
async function provision(r: Running, sinkUrl?: string): Promise<{ token: string; body: string }> {
  await call(r.url, 'POST', '/v1/tenants', ADMIN, { id: 'bench', name: 'bench' });
  await call(r.url, 'POST', '/v1/dev/local-kms/keys', ADMIN, { name: 'bench-cmk' });
  // The tenant admin, never the platform admin, registers the CMK and the SIEM sink.
  const ta = (
    await call(r.url, 'POST', '/v1/tokens', ADMIN, { name: 'a', role: 'tenant-admin', tenantId: 'bench' })
  ).token as string;
  await call(r.url, 'PUT', '/v1/tenants/bench/cmk', ta, { provider: 'local', keyRef: 'local:bench-cmk' });
  const tok = await call(r.url, 'POST', '/v1/tokens', ADMIN, {
    name: 's',
    role: 'service',
    tenantId: 'bench',
  });
  const token = tok.token as string;
  if (sinkUrl) await call(r.url, 'POST', '/v1/tenants/bench/audit/sinks', ta, { url: sinkUrl });
  const enc = await call(r.url, 'POST', '/v1/tenants/bench/encrypt', token, {
    plaintext: Buffer.alloc(1024, 7).toString('base64'),
  });
  return { token, body: JSON.stringify({ ciphertext: enc.ciphertext, purpose: 'billing' }) };
}

async function load(url: string, token: string, body: string, seconds: number): Promise<number> {
  const res = await autocannon({
    url: `${url}/v1/tenants/bench/decrypt`,
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body,
    connections: 50,
    duration: seconds,
  });
  if (res.non2xx > 0 || res.errors > 0) say(`WARNING: ${res.non2xx} non-2xx, ${res.errors} errors`);
  return res['2xx'] / seconds;
}

const sinkHits = { events: 0 };
const receiver = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    sinkHits.events += (JSON.parse(Buffer.concat(chunks).toString()) as { events: unknown[] }).events.length;
    res.writeHead(204).end();
  });
});
await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
const sinkUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;

const on = await start(true);
const off = await start(false);
const result: Record<string, unknown> = {};
try {
  const a = await provision(on, sinkUrl);
  const b = await provision(off);
  say(`warm-up`);
  await load(on.url, a.token, a.body, 1);
  await load(off.url, b.token, b.body, 1);
  const rOn: number[] = [];
  const rOff: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    rOn.push(await load(on.url, a.token, a.body, ROUND_SECONDS));
    rOff.push(await load(off.url, b.token, b.body, ROUND_SECONDS));
    say(`round ${i + 1}: audited ${rOn[i]?.toFixed(0)}/s, audit off ${rOff[i]?.toFixed(0)}/s`);
  }
  const mOn = summarize(rOn).median;
  const mOff = summarize(rOff).median;
  const ratio = mOn / mOff;
  say(
    `decrypt 1 KiB: audited ${mOn.toFixed(0)}/s, audit off ${mOff.toFixed(0)}/s, ratio ${ratio.toFixed(2)} (target >= ${TARGET})`,
  );
  // Let the dispatcher drain to show the sink keeps up.
  const sinks = (await call(on.url, 'GET', '/v1/tenants/bench/audit/sinks', ADMIN)).sinks as {
    lag: number;
  }[];
  say(`SIEM sink lag right after the load: ${sinks[0]?.lag} events (delivered so far: ${sinkHits.events})`);
  Object.assign(result, {
    auditedPerSec: mOn,
    auditOffPerSec: mOff,
    ratio,
    target: TARGET,
    pass: ratio >= TARGET,
    sinkLag: sinks[0]?.lag,
  });

  // Export: N events generated with the writer's pure hash functions.
  say(`seeding ${EXPORT_ROWS} events`);
  let t0 = performance.now();
  await seedSyntheticChain(on.service.store.pool, 'bulk', EXPORT_ROWS);
  const seedSeconds = (performance.now() - t0) / 1000;
  global.gc?.();
  const rssBefore = process.memoryUsage().rss;
  let peakRss = rssBefore;
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 50);
  t0 = performance.now();
  const res = await fetch(`${on.url}/v1/audit/export?tenantId=bulk&format=ndjson`, {
    headers: { authorization: `Bearer ${ADMIN}` },
  });
  let bytes = 0;
  async function* text() {
    const decoder = new TextDecoder();
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      bytes += chunk.byteLength;
      yield decoder.decode(chunk, { stream: true });
    }
  }
  const verified = await verifyExport(linesOf(text()));
  clearInterval(sampler);
  const seconds = (performance.now() - t0) / 1000;
  const mb = (n: number) => n / 1024 / 1024;
  say(
    `export ${EXPORT_ROWS} events: ${(bytes / 1e6).toFixed(0)} MB in ${seconds.toFixed(1)} s = ${(EXPORT_ROWS / seconds).toFixed(0)} events/s, ` +
      `verified offline on the fly: ${verified.ok} (${verified.checked}); RSS ${mb(rssBefore).toFixed(0)} -> peak ${mb(peakRss).toFixed(0)} MB ` +
      `(service and client in one process; seeding took ${seedSeconds.toFixed(0)} s)`,
  );
  Object.assign(result, {
    exportRows: EXPORT_ROWS,
    exportBytes: bytes,
    exportSeconds: seconds,
    exportEventsPerSec: EXPORT_ROWS / seconds,
    exportVerified: verified.ok && verified.checked === EXPORT_ROWS,
    rssBeforeMb: mb(rssBefore),
    peakRssMb: mb(peakRss),
  });
} finally {
  await on.close();
  await off.close();
  receiver.close();
}
if (json) process.stdout.write(`${JSON.stringify(result)}\n`);
