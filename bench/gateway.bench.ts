/**
 * The AI gateway's cost over calling the provider directly: the same client calls the loopback
 * fake upstream (`@byok/ai-fakes`, in its own process) directly and through the key service's gateway (service token
 * in, tenant key injected, `secret.use` audited before each call, `ai.use` after it). Figures at 1
 * and 50 connections: added latency p50/p99 of a non-streaming chat completion, time to first
 * byte of a streamed one, and the SSE relay's throughput ratio on long streams. Rounds interleave
 * direct and gateway; each figure is the median over rounds, with its spread (min-max).
 * `pnpm bench:gateway [--json] [--quick]`.
 */
import http from 'node:http';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { machineInfo } from './lib/harness.js';
import { quantile, summarize } from './lib/stats.js';
import { api, provisionTenant } from './support/api.js';
import { benchDatabase, benchFlags, fmt, publish, type FiguresReport } from './support/bench-output.js';
import { startAiFakeProcess, startFloorProxy, startService } from './support/processes.js';

/** Issue 15 targets. */
const TARGET_ADDED_P50_MS = 1;
const TARGET_RELAY_RATIO = 0.9;

const ADMIN = `bench_admin_${randomBytes(16).toString('hex')}`;
const KEY = `sk-proj-${randomBytes(24).toString('hex')}`;
const { json, quick } = benchFlags();
const ROUNDS = quick ? 1 : 5;
/** Requests per round and connection count (latency cases); streams per round for throughput. */
const PER_ROUND = quick ? { c1: 30, c50: 200, long: 4 } : { c1: 200, c50: 1500, long: 20 };
/** Deltas in one long stream (~19 bytes of payload each, ~230 bytes per SSE event on the wire). */
const LONG_STREAM_TOKENS = quick ? 2000 : 5000;

const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

interface Timing {
  /** ms from sending to the first body byte. */
  ttfb: number;
  /** ms from sending to the end of the body. */
  total: number;
  bytes: number;
  /** The gateway's Server-Timing durations (prep, key, upstream), when it sent them. */
  serverTiming: Record<string, number>;
}

/** `name;dur=1.23, ...` -> { name: 1.23 }. */
function parseServerTiming(v: string | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of (v ?? '').matchAll(/([a-z]+);dur=([0-9.]+)/g)) out[m[1] as string] = Number(m[2]);
  return out;
}

/**
 * One POST; times the first body byte and the end. A kept-alive socket the server closed just as
 * it was reused (ECONNRESET before any answer) is retried once, as Node's documentation advises.
 */
function post(url: URL, headers: Record<string, string>, body: string, retried = false): Promise<Timing> {
  return new Promise<Timing>((resolve, reject) => {
    const t0 = performance.now();
    const req = http.request(
      url,
      { method: 'POST', agent, headers: { ...headers, 'content-type': 'application/json' } },
      (res) => {
        let ttfb = -1;
        let bytes = 0;
        res.on('data', (c: Buffer) => {
          if (ttfb < 0) ttfb = performance.now() - t0;
          bytes += c.length;
        });
        res.on('end', () => {
          if ((res.statusCode ?? 0) >= 300) reject(new Error(`${url.pathname} answered ${res.statusCode}`));
          else
            resolve({
              ttfb,
              total: performance.now() - t0,
              bytes,
              serverTiming: parseServerTiming(res.headers['server-timing'] as string | undefined),
            });
        });
        res.on('error', reject);
      },
    );
    req.on('error', (err: NodeJS.ErrnoException) => {
      if (!retried && req.reusedSocket && err.code === 'ECONNRESET')
        post(url, headers, body, true).then(resolve, reject);
      else reject(err);
    });
    req.end(body);
  });
}

/** `n` requests over `connections` concurrent loops; returns every timing and the wall time. */
async function load(
  n: number,
  connections: number,
  send: () => Promise<Timing>,
): Promise<{ timings: Timing[]; wallMs: number }> {
  const timings: Timing[] = [];
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: connections }, async () => {
      while (next < n) {
        next++;
        timings.push(await send());
      }
    }),
  );
  return { timings, wallMs: performance.now() - t0 };
}

/**
 * CPU time (ms) a process has used so far, all its threads (`/proc/<pid>/task/<tid>/schedstat`,
 * nanoseconds); undefined where there is no /proc or no pid. Wall-clock ratios on a loaded 2-core
 * machine swing widely; the CPU each process spends per stream does not.
 */
function cpuMsOf(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    let ns = 0;
    for (const tid of readdirSync(`/proc/${pid}/task`))
      ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
    return ns / 1e6;
  } catch {
    return undefined;
  }
}

/** This process's CPU time (ms). */
const ownCpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

const p = (xs: number[], q: number) =>
  quantile(
    [...xs].sort((a, b) => a - b),
    q,
  );

// The fake provider runs in its own process: a client never shares an event loop with its provider,
// and on loopback a same-process "direct" call skips the cross-process wake-up every real hop pays.
const fake = await startAiFakeProcess([KEY]);
const db = await benchDatabase();
process.stderr.write(`[gateway] database: ${db.description}\n`);
const service = await startService({
  ...db.env,
  BOOTSTRAP_ADMIN_TOKEN: ADMIN,
  KMS_PROVIDERS: 'local',
  AI_UPSTREAM_OPENAI_URL: fake.url,
  EGRESS_ALLOW_CIDRS: '127.0.0.0/8',
});
// The floor: a bare proxy that commits one row per call and relays (needs a PostgreSQL server).
const floorProxy = db.databaseUrl
  ? await startFloorProxy({ UPSTREAM_URL: fake.url, UPSTREAM_KEY: KEY, DATABASE_URL: db.databaseUrl })
  : undefined;
try {
  const tenant = await provisionTenant(
    service.url,
    ADMIN,
    'bench',
    { provider: 'local', keyRef: 'local:bench-cmk' },
    'bench-cmk',
  );
  await api(service.url, 'PUT', '/v1/tenants/bench/secrets/openai', tenant.serviceToken, {
    kind: 'openai',
    value: KEY,
  });
  const direct = {
    url: new URL('/v1/chat/completions', fake.url),
    headers: { authorization: `Bearer ${KEY}` },
  };
  const gateway = {
    url: new URL('/v1/tenants/bench/ai/openai/v1/chat/completions', service.url),
    headers: { authorization: `Bearer ${tenant.serviceToken}` },
  };
  // A second tenant with a tenant-wide cap (never reached): every call reserves its maximum cost
  // before it is sent and settles after, the metering path of a capped tenant.
  const cappedTenant = await provisionTenant(
    service.url,
    ADMIN,
    'bench-cap',
    { provider: 'local', keyRef: 'local:bench-cap-cmk' },
    'bench-cap-cmk',
  );
  await api(service.url, 'PUT', '/v1/tenants/bench-cap/secrets/openai', cappedTenant.serviceToken, {
    kind: 'openai',
    value: KEY,
  });
  await api(service.url, 'PUT', '/v1/tenants/bench-cap/ai/budget', cappedTenant.tenantAdminToken, {
    period: 'day',
    limitMicros: 1_000_000_000_000,
  });
  const capped = {
    url: new URL('/v1/tenants/bench-cap/ai/openai/v1/chat/completions', service.url),
    headers: { authorization: `Bearer ${cappedTenant.serviceToken}` },
  };
  const floor = floorProxy && {
    url: new URL('/v1/chat/completions', floorProxy.url),
    headers: { authorization: 'Bearer caller-token' },
  };
  const targets = [
    ['direct', direct],
    ...(floor ? ([['floor', floor]] as const) : []),
    ['gateway', gateway],
  ] as const;
  const messages = [{ role: 'user', content: 'Say hello.' }];
  const plain = JSON.stringify({ model: 'gpt-4o-mini', messages });
  const streamed = JSON.stringify({ model: 'gpt-4o-mini', messages, stream: true });
  const long = JSON.stringify({
    model: 'gpt-4o-mini',
    messages,
    stream: true,
    max_tokens: LONG_STREAM_TOKENS,
  });

  // Warm-up: connections, JIT, the tenant key cache.
  for (const [, target] of targets) {
    await load(quick ? 20 : 200, 10, () => post(target.url, target.headers, plain));
    await load(quick ? 20 : 100, 10, () => post(target.url, target.headers, streamed));
    await load(2, 2, () => post(target.url, target.headers, long));
  }
  await load(quick ? 20 : 200, 10, () => post(capped.url, capped.headers, plain));

  type Series = Record<string, number[]>;
  const series: Series = {};
  const add = (k: string, v: number) => (series[k] ??= []).push(v);
  for (let round = 0; round < ROUNDS; round++) {
    for (const c of [1, 50] as const) {
      const n = c === 1 ? PER_ROUND.c1 : PER_ROUND.c50;
      for (const [name, target] of targets) {
        const r = await load(n, c, () => post(target.url, target.headers, plain));
        add(
          `${name} c${c} p50`,
          p(
            r.timings.map((t) => t.total),
            0.5,
          ),
        );
        add(
          `${name} c${c} p99`,
          p(
            r.timings.map((t) => t.total),
            0.99,
          ),
        );
        add(`${name} c${c} rps`, (n / r.wallMs) * 1000);
        if (name === 'gateway')
          for (const phase of ['prep', 'key', 'upstream'])
            add(
              `gateway c${c} server-timing ${phase} p50`,
              p(
                r.timings.map((t) => t.serverTiming[phase] ?? 0),
                0.5,
              ),
            );
        const s = await load(n, c, () => post(target.url, target.headers, streamed));
        add(
          `${name} c${c} ttfb p50`,
          p(
            s.timings.map((t) => t.ttfb),
            0.5,
          ),
        );
        add(
          `${name} c${c} ttfb p99`,
          p(
            s.timings.map((t) => t.ttfb),
            0.99,
          ),
        );
        const middle = name === 'gateway' ? service.pid : name === 'floor' ? floorProxy?.pid : undefined;
        const before = { fake: cpuMsOf(fake.pid), middle: cpuMsOf(middle), client: ownCpuMs() };
        const streams = PER_ROUND.long;
        const l = await load(streams, c, () => post(target.url, target.headers, long));
        add(
          `${name} c${c} relay MB/s`,
          l.timings.reduce((sum, t) => sum + t.bytes, 0) / 1e6 / (l.wallMs / 1000),
        );
        // The same streams from their first byte to their last: the relay's own rate, without the
        // call's setup (reported above as time to first byte; at 1 connection a 1 MB stream lasts
        // only ~20 ms, so a few ms of setup would otherwise count as relay slowness).
        add(
          `${name} c${c} flow MB/s`,
          l.timings.reduce((sum, t) => sum + t.bytes, 0) /
            1e6 /
            (l.timings.reduce((sum, t) => sum + (t.total - t.ttfb), 0) / 1000),
        );
        // CPU per long stream in each process: what decides the ratio when three processes share two cores.
        const fakeCpu = cpuMsOf(fake.pid);
        if (fakeCpu !== undefined && before.fake !== undefined)
          add(`${name} c${c} cpu ms/stream provider`, (fakeCpu - before.fake) / streams);
        add(`${name} c${c} cpu ms/stream client`, (ownCpuMs() - before.client) / streams);
        const middleCpu = cpuMsOf(middle);
        if (middleCpu !== undefined && before.middle !== undefined)
          add(`${name} c${c} cpu ms/stream ${name}`, (middleCpu - before.middle) / streams);
      }
      add(
        `added c${c} p50`,
        (series[`gateway c${c} p50`]?.at(-1) ?? 0) - (series[`direct c${c} p50`]?.at(-1) ?? 0),
      );
      add(
        `added c${c} p99`,
        (series[`gateway c${c} p99`]?.at(-1) ?? 0) - (series[`direct c${c} p99`]?.at(-1) ?? 0),
      );
      add(
        `added c${c} ttfb p50`,
        (series[`gateway c${c} ttfb p50`]?.at(-1) ?? 0) - (series[`direct c${c} ttfb p50`]?.at(-1) ?? 0),
      );
      const rc = await load(n, c, () => post(capped.url, capped.headers, plain));
      add(
        `gateway+cap c${c} p50`,
        p(
          rc.timings.map((t) => t.total),
          0.5,
        ),
      );
      add(`gateway+cap c${c} rps`, (n / rc.wallMs) * 1000);
      if (floor) {
        add(
          `floor relay ratio c${c}`,
          (series[`floor c${c} relay MB/s`]?.at(-1) ?? 0) / (series[`direct c${c} relay MB/s`]?.at(-1) ?? 1),
        );
        add(
          `floor added c${c} p50`,
          (series[`floor c${c} p50`]?.at(-1) ?? 0) - (series[`direct c${c} p50`]?.at(-1) ?? 0),
        );
        add(
          `gateway over floor c${c} p50`,
          (series[`gateway c${c} p50`]?.at(-1) ?? 0) - (series[`floor c${c} p50`]?.at(-1) ?? 0),
        );
      }
      add(
        `relay ratio c${c}`,
        (series[`gateway c${c} relay MB/s`]?.at(-1) ?? 0) / (series[`direct c${c} relay MB/s`]?.at(-1) ?? 1),
      );
      add(
        `flow ratio c${c}`,
        (series[`gateway c${c} flow MB/s`]?.at(-1) ?? 0) / (series[`direct c${c} flow MB/s`]?.at(-1) ?? 1),
      );
      if (floor)
        add(
          `floor flow ratio c${c}`,
          (series[`floor c${c} flow MB/s`]?.at(-1) ?? 0) / (series[`direct c${c} flow MB/s`]?.at(-1) ?? 1),
        );
    }
  }

  const figures: Record<string, number | string | boolean> = {};
  const rows: string[] = [];
  for (const [k, v] of Object.entries(series)) {
    const st = summarize(v);
    figures[k] = Number(st.median.toFixed(3));
    rows.push(`| ${k} | ${fmt(st.median, 2)} | ${fmt(st.min, 2)} - ${fmt(st.max, 2)} |`);
  }
  figures['target added p50 ms (c1)'] = TARGET_ADDED_P50_MS;
  figures['meets added p50 target (c1)'] = (figures['added c1 p50'] as number) <= TARGET_ADDED_P50_MS;
  figures['target relay ratio'] = TARGET_RELAY_RATIO;
  figures['meets relay target (c1, c50)'] =
    (figures['relay ratio c1'] as number) >= TARGET_RELAY_RATIO &&
    (figures['relay ratio c50'] as number) >= TARGET_RELAY_RATIO;
  figures['meets relay target from first byte (c1, c50)'] =
    (figures['flow ratio c1'] as number) >= TARGET_RELAY_RATIO &&
    (figures['flow ratio c50'] as number) >= TARGET_RELAY_RATIO;
  figures['long stream events'] = LONG_STREAM_TOKENS;
  figures.rounds = ROUNDS;
  const report: FiguresReport = {
    name: 'gateway',
    machine: machineInfo(),
    results: [],
    ratios: {
      'relay c1': figures['relay ratio c1'] as number,
      'relay c50': figures['relay ratio c50'] as number,
      'flow c1': figures['flow ratio c1'] as number,
      'flow c50': figures['flow ratio c50'] as number,
    },
    setup: { database: db.description, upstream: 'loopback @byok/ai-fakes in its own process' },
    figures,
  };
  const md = [
    '## gateway',
    '',
    `AI gateway vs calling the fake upstream directly; ${ROUNDS} rounds, median (min - max); ms unless named. ${db.description}.`,
    '',
    '| figure | median | spread |',
    '| --- | ---: | ---: |',
    ...rows,
    '',
    `Targets: added p50 (c1) <= ${TARGET_ADDED_P50_MS} ms: ${String(figures['meets added p50 target (c1)'])}; relay >= ${TARGET_RELAY_RATIO}x direct: ${String(figures['meets relay target (c1, c50)'])} (wall clock, setup included), ${String(figures['meets relay target from first byte (c1, c50)'])} (from first byte).`,
    '',
  ].join('\n');
  publish(report, md, json);
} finally {
  agent.destroy();
  await service.stop();
  await floorProxy?.stop();
  await fake.stop();
  await db.drop();
}
