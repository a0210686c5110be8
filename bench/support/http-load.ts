import autocannon from 'autocannon';
import type { CaseResult } from '../lib/harness.js';
import { quantile, summarize } from '../lib/stats.js';
import { BenchSetupError } from './api.js';

/** One HTTP load case: a fixed request sent over and over by every connection. */
export interface LoadCase {
  id: string;
  group: string;
  labels?: Record<string, string>;
  /** One target, or several (connections are split across them and the rates summed). */
  urls: string[];
  path: string;
  method?: 'GET' | 'POST' | 'PUT';
  headers?: Record<string, string>;
  body?: string;
  /** Logical items per request (a batch of 100 decrypts = 100), to report items/s. */
  itemsPerRequest?: number;
  /** Payload bytes per request (plaintext), to report MB/s. */
  bytes?: number;
}

/** Load timing: defaults 5 rounds of 3 s after 2 s of warm-up, 50 connections. */
export interface LoadOptions {
  rounds?: number;
  roundSeconds?: number;
  warmupSeconds?: number;
  connections?: number;
}

/** A harness-compatible result (rates are 2xx responses/s) with latency and error counts. */
export interface LoadResult extends CaseResult {
  /** Median over rounds of each round's p50 / p99 latency, in ms. */
  p50Ms: number;
  p99Ms: number;
  /** items/s at the median request rate (batch cases). */
  itemsPerSec: number | undefined;
  /** Connection errors, timeouts and non-2xx answers over all rounds (should be 0). */
  errors: number;
  non2xx: number;
  connections: number;
}

/** What one timed load run measured. */
export interface LoadRun {
  rate: number;
  ok: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
  non2xx: number;
}

/** Runs `c` for `seconds` (or for `amount` requests) with `connections` split across its urls. */
export async function runLoad(
  c: Pick<LoadCase, 'urls' | 'path' | 'method' | 'headers' | 'body'> & {
    requests?: autocannon.Request[];
  },
  connections: number,
  limit: { seconds: number } | { amount: number },
): Promise<LoadRun> {
  const n = c.urls.length;
  const started = performance.now();
  const runs = await Promise.all(
    c.urls.map((url, i) => {
      const conns = Math.floor(connections / n) + (i < connections % n ? 1 : 0);
      return autocannon({
        url: url + c.path,
        method: c.method ?? 'POST',
        headers: { 'content-type': 'application/json', ...c.headers },
        ...(c.body !== undefined ? { body: c.body } : {}),
        ...(c.requests ? { requests: c.requests } : {}),
        connections: conns,
        ...('seconds' in limit
          ? { duration: limit.seconds }
          : { amount: Math.floor(limit.amount / n) + (i < limit.amount % n ? 1 : 0) }),
      });
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const ok = runs.reduce((a, r) => a + r['2xx'], 0);
  // Latency percentiles of the busiest target: summing histograms across instances is not possible.
  const worst = runs.reduce((a, r) => (r.latency.p99 > a.latency.p99 ? r : a));
  return {
    rate: ok / seconds,
    ok,
    p50Ms: worst.latency.p50,
    p99Ms: worst.latency.p99,
    errors: runs.reduce((a, r) => a + r.errors + r.timeouts, 0),
    non2xx: runs.reduce((a, r) => a + r.non2xx, 0),
  };
}

/** One request per target first: a case that answers an error would only measure the error path. */
async function probe(c: LoadCase): Promise<void> {
  for (const url of c.urls) {
    const res = await fetch(url + c.path, {
      method: c.method ?? 'POST',
      headers: { 'content-type': 'application/json', ...c.headers },
      ...(c.body !== undefined ? { body: c.body } : {}),
    });
    const text = await res.text();
    if (!res.ok)
      throw new BenchSetupError(`${c.id}: ${url}${c.path} answered ${res.status}: ${text.slice(0, 300)}`);
  }
}

const median = (xs: number[]) =>
  quantile(
    [...xs].sort((a, b) => a - b),
    0.5,
  );

/**
 * Measures every case: warm-up, then `rounds` rounds in which each case runs once in turn
 * (interleaved, so machine noise hits all cases alike and per-round ratios pair up).
 */
export async function measureLoad(
  cases: readonly LoadCase[],
  options: LoadOptions = {},
): Promise<LoadResult[]> {
  const rounds = options.rounds ?? 5;
  const roundSeconds = options.roundSeconds ?? 3;
  const warmupSeconds = options.warmupSeconds ?? 2;
  const connections = options.connections ?? 50;
  for (const c of cases) await probe(c);
  for (const c of cases) await runLoad(c, connections, { seconds: warmupSeconds });
  const runs = new Map<LoadCase, LoadRun[]>(cases.map((c) => [c, []]));
  for (let r = 0; r < rounds; r++) {
    for (const c of cases) runs.get(c)?.push(await runLoad(c, connections, { seconds: roundSeconds }));
  }
  return cases.map((c) => {
    const rs = runs.get(c) as LoadRun[];
    const rates = rs.map((x) => x.rate);
    const stats = summarize(rates);
    return {
      id: c.id,
      group: c.group,
      labels: c.labels ?? {},
      bytes: c.bytes,
      rounds: rates,
      ops: rs.reduce((a, x) => a + x.ok, 0),
      ...stats,
      mbPerSec: c.bytes === undefined ? undefined : (stats.median * c.bytes) / 1e6,
      p50Ms: median(rs.map((x) => x.p50Ms)),
      p99Ms: median(rs.map((x) => x.p99Ms)),
      itemsPerSec: c.itemsPerRequest === undefined ? undefined : stats.median * c.itemsPerRequest,
      errors: rs.reduce((a, x) => a + x.errors, 0),
      non2xx: rs.reduce((a, x) => a + x.non2xx, 0),
      connections,
    };
  });
}
