/**
 * `pnpm bench:soak [--minutes N] [--rate R] [--window-s W] [--json]`: the key service under a
 * steady mixed load for N minutes (default 10), looking for slow leaks and drift.
 *
 * Load: an open loop at a fixed R requests/s (default 50), whatever the latencies: encrypt 30%,
 * decrypt 30%, decrypt batch of 10 15%, secret reveal 10%, audit query (one page) 10%, audit export
 * 5% (of a second tenant's fixed-size chain, so the work per export does not grow with the run).
 * Sampled every 2 s from outside the service process: RSS (/proc/<pid>/status), open file
 * descriptors (/proc/<pid>/fd) and V8 heap used (its /metrics, `nodejs_heap_size_used_bytes`).
 * Reported: heap and RSS slope (least-squares line over the samples after warm-up, MB/min; for the
 * heap also over the floors right after each major GC, which the target uses when there are 3), fds,
 * p50/p99 per window, p99 drift (p99 of the last third of the measured time vs the first third),
 * every error. Targets: heap slope < 1 MB/min after warm-up, p99 drift < 20%, no errors; exit 1
 * when one is missed. Not part of `pnpm bench` (it is not a `*.bench.ts`): it takes minutes.
 */
import { randomBytes } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { machineInfo } from './lib/harness.js';
import { quantile } from './lib/stats.js';
import { api, provisionTenant, type BenchTenant } from './support/api.js';
import { benchDatabase, fmt, publish, type FiguresReport } from './support/bench-output.js';
import { startService } from './support/processes.js';

const argv = process.argv.slice(2);
const numberFlag = (name: string, fallback: number): number => {
  const i = argv.indexOf(name);
  const v = i >= 0 ? Number(argv[i + 1]) : fallback;
  if (!Number.isFinite(v) || v <= 0) throw new Error(`${name} needs a positive number`);
  return v;
};
const json = argv.includes('--json');
const MINUTES = numberFlag('--minutes', 10);
const RATE = numberFlag('--rate', 50);
const WINDOW_S = numberFlag('--window-s', 30);
const DURATION_MS = MINUTES * 60_000;
/** Samples before this are warm-up (JIT, pools, caches): max(30 s, 20% of the run). */
const WARMUP_MS = Math.max(30_000, DURATION_MS * 0.2);
const SAMPLE_MS = 2000;
/** Requests in flight above this are not sent, and counted as errors (the service fell behind). */
const MAX_IN_FLIGHT = 256;
const TARGET_HEAP_MB_PER_MIN = 1;
const TARGET_P99_DRIFT = 0.2;
const ADMIN = `bench_soak_admin_${Date.now()}_0123456789abcdef`;
const say = (s: string) => process.stderr.write(`[soak] ${s}\n`);

interface Done {
  /** ms since the load started, at completion. */
  at: number;
  op: string;
  ms: number;
  /** undefined when 2xx; else the status and problem code, or the network error. */
  error: string | undefined;
}
interface Sample {
  at: number;
  rssMb: number;
  heapMb: number;
  fds: number;
}

/** Least-squares slope of y over x. */
function slope(points: readonly { x: number; y: number }[]): number {
  const n = points.length;
  if (n < 2) return Number.NaN;
  const mx = points.reduce((a, p) => a + p.x, 0) / n;
  const my = points.reduce((a, p) => a + p.y, 0) / n;
  const sxy = points.reduce((a, p) => a + (p.x - mx) * (p.y - my), 0);
  const sxx = points.reduce((a, p) => a + (p.x - mx) ** 2, 0);
  return sxx === 0 ? Number.NaN : sxy / sxx;
}

const p = (values: number[], q: number): number =>
  quantile(
    [...values].sort((a, b) => a - b),
    q,
  );

const db = await benchDatabase();
say(`database: ${db.description}`);
say(`${MINUTES} min at ${RATE} req/s (warm-up ${(WARMUP_MS / 1000).toFixed(0)} s, windows of ${WINDOW_S} s)`);
const service = await startService({
  ...db.env,
  BOOTSTRAP_ADMIN_TOKEN: ADMIN,
  KMS_PROVIDERS: 'local',
  // The export slots of the open loop may overlap; the soak looks for leaks, not at that throttle.
  AUDIT_EXPORTS_PER_TENANT: '8',
});
const pid = service.pid;
if (!pid || !service.metricsUrl) throw new Error('the service printed no pid or metrics listener');

/** RSS, heap used and open fds of the service process. */
async function sample(at: number): Promise<Sample> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? Number.NaN);
  const fds = (await readdir(`/proc/${pid}/fd`)).length;
  const metrics = await (await fetch(`${service.metricsUrl}/metrics`)).text();
  const heap = Number(/^nodejs_heap_size_used_bytes (\S+)/m.exec(metrics)?.[1] ?? Number.NaN);
  return { at, rssMb: rssKb / 1024, heapMb: heap / 2 ** 20, fds };
}

try {
  const url = service.url;
  const t: BenchTenant = await provisionTenant(
    url,
    ADMIN,
    'soak',
    { provider: 'local', keyRef: 'local:soak-cmk' },
    'soak-cmk',
  );
  const ex = await provisionTenant(
    url,
    ADMIN,
    'soak-export',
    { provider: 'local', keyRef: 'local:soak-export-cmk' },
    'soak-export-cmk',
  );
  const auditor = async (tenantId: string) =>
    (
      await api<{ token: string }>(url, 'POST', '/v1/tokens', ADMIN, {
        name: `aud-${tenantId}`,
        role: 'auditor',
        tenantId,
      })
    ).token;
  const soakAuditor = await auditor('soak');
  const exportAuditor = await auditor('soak-export');
  const context = { table: 'documents', record: 'r-1' };
  const plaintext = randomBytes(1024).toString('base64');
  const enc = await api<{ ciphertext: string }>(url, 'POST', '/v1/tenants/soak/encrypt', t.serviceToken, {
    plaintext,
    context,
  });
  const batch = JSON.stringify({
    items: Array.from({ length: 10 }, () => ({ ciphertext: enc.ciphertext, context })),
  });
  await api(url, 'PUT', '/v1/tenants/soak/secrets/llm', t.serviceToken, {
    kind: 'generic',
    value: `sk-soak-${randomBytes(16).toString('hex')}`,
  });
  // The exported chain: a fixed ~200 events, written before the load starts.
  const exCt = await api<{ ciphertext: string }>(
    url,
    'POST',
    '/v1/tenants/soak-export/encrypt',
    ex.serviceToken,
    {
      plaintext,
    },
  );
  for (let i = 0; i < 200; i++)
    await api(url, 'POST', '/v1/tenants/soak-export/decrypt', ex.serviceToken, {
      ciphertext: exCt.ciphertext,
    });

  const post = (token: string, body: string) => ({
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body,
  });
  const get = (token: string) => ({ method: 'GET', headers: { authorization: `Bearer ${token}` } });
  const OPS: { op: string; weight: number; path: string; init: RequestInit }[] = [
    {
      op: 'encrypt',
      weight: 30,
      path: '/v1/tenants/soak/encrypt',
      init: post(t.serviceToken, JSON.stringify({ plaintext, context })),
    },
    {
      op: 'decrypt',
      weight: 30,
      path: '/v1/tenants/soak/decrypt',
      init: post(t.serviceToken, JSON.stringify({ ciphertext: enc.ciphertext, context })),
    },
    {
      op: 'decrypt batch x10',
      weight: 15,
      path: '/v1/tenants/soak/decrypt/batch',
      init: post(t.serviceToken, batch),
    },
    {
      op: 'reveal',
      weight: 10,
      path: '/v1/tenants/soak/secrets/llm/reveal',
      init: post(t.serviceToken, '{}'),
    },
    { op: 'audit query', weight: 10, path: '/v1/audit?tenantId=soak&limit=50', init: get(soakAuditor) },
    {
      op: 'audit export',
      weight: 5,
      path: '/v1/audit/export?tenantId=soak-export',
      init: get(exportAuditor),
    },
  ];
  // A fixed, evenly spread sequence of operations (every 100 requests hold the weights exactly).
  const deck = OPS.flatMap((o, i) => Array.from({ length: o.weight }, (_, k) => ({ i, k: k / o.weight })))
    .sort((a, b) => a.k - b.k || a.i - b.i)
    .map((x) => OPS[x.i]!);

  const done: Done[] = [];
  const samples: Sample[] = [];
  let inFlight = 0;
  let sent = 0;
  const start = Date.now();
  const fire = (n: number) => {
    const o = deck[n % deck.length]!;
    if (inFlight >= MAX_IN_FLIGHT) {
      done.push({ at: Date.now() - start, op: o.op, ms: 0, error: 'not sent: too many in flight' });
      return;
    }
    inFlight++;
    const t0 = performance.now();
    void fetch(`${url}${o.path}`, o.init)
      .then(async (res) => {
        const text = await res.text();
        const ok = res.status >= 200 && res.status < 300;
        let code = '';
        if (!ok) code = /"code":"([A-Z_]+)"/.exec(text)?.[1] ?? '';
        return ok ? undefined : `${res.status} ${code}`.trim();
      })
      .catch((e: unknown) => `network: ${String((e as Error).cause ?? e)}`)
      .then((error) => {
        inFlight--;
        done.push({ at: Date.now() - start, op: o.op, ms: performance.now() - t0, error });
      });
  };
  samples.push(await sample(0));
  let nextSample = SAMPLE_MS;
  let nextLog = 60_000;
  for (;;) {
    const elapsed = Date.now() - start;
    if (elapsed >= DURATION_MS) break;
    const due = Math.floor((elapsed / 1000) * RATE);
    while (sent < due) fire(sent++);
    if (elapsed >= nextSample) {
      nextSample += SAMPLE_MS;
      samples.push(await sample(elapsed));
    }
    if (elapsed >= nextLog) {
      nextLog += 60_000;
      const last = samples.at(-1)!;
      say(
        `${(elapsed / 60_000).toFixed(0)} min: ${done.length} done, ${done.filter((d) => d.error).length} errors, heap ${last.heapMb.toFixed(1)} MB, rss ${last.rssMb.toFixed(0)} MB, fds ${last.fds}`,
      );
    }
    await new Promise((r) => setTimeout(r, 5));
  }
  // Let the requests in flight finish (bounded), then one last sample.
  for (let i = 0; i < 200 && inFlight > 0; i++) await new Promise((r) => setTimeout(r, 50));
  samples.push(await sample(Date.now() - start));

  // Figures.
  const measured = samples.filter((s) => s.at >= WARMUP_MS);
  const perMin = (pick: (s: Sample) => number) =>
    slope(measured.map((s) => ({ x: s.at / 60_000, y: pick(s) })));
  const heapSlope = perMin((s) => s.heapMb);
  // V8's heap is a sawtooth (a major GC every minute or so here): the raw line depends on where in a
  // tooth the run ends. The heap right after each major GC (a drop of over 25%) is what a leak
  // raises: with 3 or more such floors after warm-up, the target is judged on their line.
  const floors = measured.filter((s, i) => i > 0 && s.heapMb < measured[i - 1]!.heapMb * 0.75);
  const floorSlope = slope(floors.map((s) => ({ x: s.at / 60_000, y: s.heapMb })));
  const judgedSlope = floors.length >= 3 ? floorSlope : heapSlope;
  const rssSlope = perMin((s) => s.rssMb);
  const windows: { fromS: number; n: number; errors: number; p50: number; p99: number }[] = [];
  for (let from = 0; from < DURATION_MS; from += WINDOW_S * 1000) {
    const inWin = done.filter((d) => d.at >= from && d.at < from + WINDOW_S * 1000);
    const ok = inWin.filter((d) => !d.error).map((d) => d.ms);
    windows.push({
      fromS: from / 1000,
      n: inWin.length,
      errors: inWin.length - ok.length,
      p50: ok.length ? p(ok, 0.5) : Number.NaN,
      p99: ok.length ? p(ok, 0.99) : Number.NaN,
    });
  }
  const third = (DURATION_MS - WARMUP_MS) / 3;
  const okIn = (from: number, to: number) =>
    done.filter((d) => !d.error && d.at >= from && d.at < to).map((d) => d.ms);
  const p99First = p(okIn(WARMUP_MS, WARMUP_MS + third), 0.99);
  const p99Last = p(okIn(DURATION_MS - third, DURATION_MS + 60_000), 0.99);
  const drift = p99Last / p99First - 1;
  // The same per operation, to tell which one drifts.
  const perOp = OPS.map((o) => {
    const of = (from: number, to: number) =>
      done.filter((d) => d.op === o.op && !d.error && d.at >= from && d.at < to).map((d) => d.ms);
    const first = of(WARMUP_MS, WARMUP_MS + third);
    const last = of(DURATION_MS - third, DURATION_MS + 60_000);
    return {
      op: o.op,
      p50First: p(first, 0.5),
      p50Last: p(last, 0.5),
      p99First: p(first, 0.99),
      p99Last: p(last, 0.99),
    };
  });
  const errors = done.filter((d) => d.error);
  const errorKinds: Record<string, number> = {};
  for (const e of errors) errorKinds[`${e.op}: ${e.error}`] = (errorKinds[`${e.op}: ${e.error}`] ?? 0) + 1;
  const fdsAfterWarmup = measured.map((s) => s.fds);
  const heapOk = judgedSlope < TARGET_HEAP_MB_PER_MIN;
  const driftOk = drift < TARGET_P99_DRIFT;
  const passed = heapOk && driftOk && errors.length === 0;

  const figures: Record<string, number | string | boolean> = {
    minutes: MINUTES,
    'rate req/s': RATE,
    requests: done.length,
    'achieved req/s': done.length / (DURATION_MS / 1000),
    errors: errors.length,
    'warm-up s': WARMUP_MS / 1000,
    'heap slope MB/min (all samples)': heapSlope,
    'heap floors after major GCs': floors.length,
    'heap floor slope MB/min': floorSlope,
    'heap slope judged': floors.length >= 3 ? 'floors' : 'all samples (fewer than 3 floors)',
    'rss slope MB/min': rssSlope,
    'heap MB first/last': `${measured[0]?.heapMb.toFixed(1)} / ${measured.at(-1)?.heapMb.toFixed(1)}`,
    'rss MB first/last': `${measured[0]?.rssMb.toFixed(0)} / ${measured.at(-1)?.rssMb.toFixed(0)}`,
    'fds first/last/max': `${fdsAfterWarmup[0]} / ${fdsAfterWarmup.at(-1)} / ${Math.max(...fdsAfterWarmup)}`,
    'p99 first third ms': p99First,
    'p99 last third ms': p99Last,
    'p99 drift': drift,
    'target heap slope < 1 MB/min': heapOk,
    'target p99 drift < 20%': driftOk,
    passed,
  };
  const markdown = [
    '## soak',
    '',
    `\`pnpm bench:soak --minutes ${MINUTES}\` · ${RATE} req/s · ${db.description} · ${new Date().toISOString()}`,
    '',
    '| figure | value |',
    '|---|---|',
    ...Object.entries(figures).map(
      ([k, v]) => `| ${k} | ${typeof v === 'number' ? fmt(v, Math.abs(v) < 10 ? 3 : 1) : String(v)} |`,
    ),
    '',
    '| operation | p50 first third ms | p50 last third ms | p99 first third ms | p99 last third ms |',
    '|---|---:|---:|---:|---:|',
    ...perOp.map(
      (o) =>
        `| ${o.op} | ${fmt(o.p50First, 1)} | ${fmt(o.p50Last, 1)} | ${fmt(o.p99First, 1)} | ${fmt(o.p99Last, 1)} |`,
    ),
    '',
    '| window from (s) | requests | errors | p50 ms | p99 ms |',
    '|---:|---:|---:|---:|---:|',
    ...windows.map((w) => `| ${w.fromS} | ${w.n} | ${w.errors} | ${fmt(w.p50, 1)} | ${fmt(w.p99, 1)} |`),
    ...(errors.length ? ['', 'Errors:', ...Object.entries(errorKinds).map(([k, n]) => `- ${k}: ${n}`)] : []),
    '',
  ].join('\n');
  const report: FiguresReport & {
    windows: typeof windows;
    perOp: typeof perOp;
    samples: Sample[];
    errorKinds: typeof errorKinds;
  } = {
    name: 'soak',
    machine: machineInfo(),
    results: [],
    ratios: {},
    figures,
    windows,
    perOp,
    samples,
    errorKinds,
  };
  publish(report, markdown, json);
  if (!passed) process.exitCode = 1;
} finally {
  await service.stop();
  await db.drop();
}
