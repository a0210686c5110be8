import { cpus } from 'node:os';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { performance } from 'node:perf_hooks';
import { summarize, type RateStats } from './stats.js';

/** One measured operation. Cases sharing a `group` run their rounds interleaved, so drift hits all alike. */
export interface BenchCase {
  /** Unique id, e.g. `ours encrypt 1KiB`. */
  id: string;
  /** Cases in one group are compared with each other (e.g. `encrypt 1KiB`). */
  group: string;
  /** Free-form labels carried into the JSON (impl, op, payload, ...). */
  labels?: Record<string, string>;
  /** Payload bytes per op, to report MB/s. */
  bytes?: number;
  /** Time box of one round for this case, overriding the suite's. */
  roundMs?: number;
  fn: () => unknown;
}

/** Measured result of one case. */
export interface CaseResult extends RateStats {
  id: string;
  group: string;
  labels: Record<string, string>;
  bytes: number | undefined;
  /** ops/s of every round, in order. */
  rounds: number[];
  ops: number;
  /** Median MB/s (10^6 bytes) when `bytes` is set. */
  mbPerSec: number | undefined;
  /**
   * Minor page faults of the whole process per op, over all rounds: memory the kernel had to map
   * in. At large payloads this (not the crypto) decides the rate, so it is reported beside it.
   * Set by {@link measureCases}; absent for results measured otherwise (HTTP load).
   */
  faultsPerOp?: number;
}

/** Suite timing. Defaults: 7 rounds of 250 ms after 200 ms of warm-up per case. */
export interface BenchOptions {
  rounds?: number;
  roundMs?: number;
  warmupMs?: number;
}

/** Sink for results so the JIT cannot drop the measured work. */
let sink = 0;
function consume(value: unknown): void {
  if (value && typeof value === 'object' && 'length' in value) sink += (value as { length: number }).length;
  else sink += 1;
}

/** True when `fn` returns promises (the ESDK); such cases are awaited op by op. */
function isThenable(value: unknown): value is PromiseLike<unknown> {
  return !!value && typeof (value as { then?: unknown }).then === 'function';
}

/** Runs `fn` for about `ms` (at least one op); returns ops and elapsed seconds. */
async function timeBox(
  fn: () => unknown,
  isAsync: boolean,
  ms: number,
): Promise<{ ops: number; seconds: number }> {
  const start = performance.now();
  const deadline = start + ms;
  let ops = 0;
  let now = start;
  if (isAsync) {
    do {
      consume(await fn());
      ops++;
      now = performance.now();
    } while (now < deadline);
  } else {
    // Check the clock once per batch; grow the batch until one batch takes ~2 ms.
    let batch = 1;
    do {
      const t0 = now;
      for (let i = 0; i < batch; i++) consume(fn());
      ops += batch;
      now = performance.now();
      if (now - t0 < 2 && batch < 1 << 20) batch *= 2;
    } while (now < deadline);
  }
  return { ops, seconds: (now - start) / 1000 };
}

/** V8's gc(), exposed at run time, so each group starts from a collected heap (not another group's garbage). */
function exposeGc(): () => void {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as unknown;
  return typeof gc === 'function' ? (gc as () => void) : () => undefined;
}

/** Measures every case: full GC, warm-up, then `rounds` interleaved rounds, group by group in order. */
export async function measureCases(
  cases: readonly BenchCase[],
  options: BenchOptions = {},
): Promise<CaseResult[]> {
  const rounds = options.rounds ?? 7;
  const roundMs = options.roundMs ?? 250;
  const warmupMs = options.warmupMs ?? 200;
  const groups = new Map<string, BenchCase[]>();
  for (const c of cases) groups.set(c.group, [...(groups.get(c.group) ?? []), c]);

  const results = new Map<string, CaseResult>();
  const gc = exposeGc();
  for (const group of groups.values()) {
    gc();
    const kinds = new Map<BenchCase, boolean>();
    for (const c of group) {
      kinds.set(c, await probe(c.fn));
      await timeBox(c.fn, kinds.get(c) as boolean, warmupMs);
    }
    const perCase = new Map<BenchCase, { rates: number[]; ops: number; faults: number }>(
      group.map((c) => [c, { rates: [], ops: 0, faults: 0 }]),
    );
    for (let r = 0; r < rounds; r++) {
      // Rotate the order each round: whatever one case leaves behind (GC debt, a trimmed malloc heap,
      // cold caches) lands on every other case equally often, not always on the same neighbour.
      for (let i = 0; i < group.length; i++) {
        const c = group[(r + i) % group.length] as BenchCase;
        const faultsBefore = process.resourceUsage().minorPageFault;
        const { ops, seconds } = await timeBox(c.fn, kinds.get(c) as boolean, c.roundMs ?? roundMs);
        const acc = perCase.get(c) as { rates: number[]; ops: number; faults: number };
        acc.faults += process.resourceUsage().minorPageFault - faultsBefore;
        acc.rates.push(ops / seconds);
        acc.ops += ops;
      }
    }
    for (const c of group) {
      const { rates, ops, faults } = perCase.get(c) as { rates: number[]; ops: number; faults: number };
      const stats = summarize(rates);
      results.set(c.id, {
        id: c.id,
        group: c.group,
        labels: c.labels ?? {},
        bytes: c.bytes,
        rounds: rates,
        ops,
        ...stats,
        mbPerSec: c.bytes === undefined ? undefined : (stats.median * c.bytes) / 1e6,
        faultsPerOp: faults / ops,
      });
    }
  }
  if (sink === -1) process.stdout.write('');
  return cases.map((c) => results.get(c.id) as CaseResult);
}

/** Calls `fn` once; true when it returned a promise (and awaits it). */
async function probe(fn: () => unknown): Promise<boolean> {
  const value = fn();
  if (isThenable(value)) {
    await value;
    return true;
  }
  return false;
}

/** The machine a result was measured on. */
export interface MachineInfo {
  cpus: number;
  node: string;
  cpuModel: string;
}

/** CPU count, Node version and CPU model of this machine. */
export function machineInfo(): MachineInfo {
  const list = cpus();
  return { cpus: list.length, node: process.version, cpuModel: list[0]?.model.trim() ?? 'unknown' };
}
