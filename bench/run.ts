/**
 * `pnpm bench`: runs every `bench/*.bench.ts` in sequence, each in its own process (so one
 * benchmark's heap, JIT state and child processes cannot skew the next), then renders the charts
 * and aggregates. Flags: `--json` (last line: one JSON object with every benchmark's figures),
 * `--quick` (smoke run), `--only a,b` (a subset by name), `--timeout-s N` (per benchmark, default 300).
 * Exits 1 when any benchmark failed (after printing the JSON; `pnpm -s bench --json` keeps it last).
 * Finds PostgreSQL first, the way the tests do (support/find-database.ts), for every benchmark.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { renderCharts } from './chart.js';
import { machineInfo } from './lib/harness.js';
import { upsertSection, type BenchReport } from './lib/report.js';
import { RESULTS_DIR } from './support/bench-output.js';
import { findDatabase } from './support/find-database.js';
import { ROOT } from './support/processes.js';

/** Run order for the known benchmarks; any other `*.bench.ts` runs after them, by name. */
const ORDER = ['envelope', 'service', 'kms-economy', 'scaling', 'gateway'];

const argv = process.argv.slice(2);
const json = argv.includes('--json');
const quick = argv.includes('--quick');
const onlyArg = argv[argv.indexOf('--only') + 1];
const only = argv.includes('--only') && onlyArg ? onlyArg.split(',') : undefined;
/** A benchmark still running after this is stopped (with its whole process group) and counted as failed. */
const timeoutArg = argv[argv.indexOf('--timeout-s') + 1];
const TIMEOUT_S = argv.includes('--timeout-s') && timeoutArg ? Number(timeoutArg) : 300;

const found = readdirSync(join(ROOT, 'bench'))
  .filter((f) => f.endsWith('.bench.ts'))
  .map((f) => f.slice(0, -'.bench.ts'.length));
const rank = (n: string) => (ORDER.includes(n) ? ORDER.indexOf(n) : ORDER.length);
const names = found
  .filter((n) => !only || only.includes(n))
  .sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));

interface Outcome {
  name: string;
  seconds: number;
  report: BenchReport | undefined;
  exitCode: number | null;
}

/** Runs one benchmark with `--json`; its human output passes through, its JSON line is captured. */
function runOne(name: string): Promise<Outcome> {
  const started = Date.now();
  const child = spawn(
    join(ROOT, 'node_modules/.bin/tsx'),
    [join(ROOT, 'bench', `${name}.bench.ts`), '--json', ...(quick ? ['--quick'] : [])],
    // Its own process group, so a timeout stops the services it started too.
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'], env: process.env, detached: true },
  );
  const signalGroup = (signal: NodeJS.Signals) => {
    try {
      if (child.pid !== undefined) process.kill(-child.pid, signal);
    } catch {
      // Already gone.
    }
  };
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    process.stderr.write(`[run] ${name} still running after ${TIMEOUT_S} s: stopping it\n`);
    signalGroup('SIGTERM');
    setTimeout(() => signalGroup('SIGKILL'), 10_000).unref();
  }, TIMEOUT_S * 1000);
  let report: BenchReport | undefined;
  const lines = createInterface({ input: child.stdout });
  lines.on('line', (line) => {
    // The report is a JSON object with a name on one line (the harness puts it last).
    if (line.startsWith('{')) {
      try {
        const parsed = JSON.parse(line) as Record<string, unknown> | null;
        // Some benchmarks name themselves with `bench`, or not at all: then the file name counts.
        if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) {
          report = { ...parsed, name: String(parsed.name ?? parsed.bench ?? name) } as unknown as BenchReport;
          return;
        }
      } catch {
        // Not the report after all: print it like any other line.
      }
    }
    // Human output goes to stderr so that stdout's last line stays the aggregate JSON.
    process.stderr.write(`${line}\n`);
  });
  return new Promise((resolve) => {
    child.once('exit', (code) => {
      clearTimeout(timer);
      lines.close();
      resolve({
        name,
        seconds: (Date.now() - started) / 1000,
        report: timedOut ? undefined : report,
        exitCode: code,
      });
    });
  });
}

// Set once here (DATABASE_URL, else 127.0.0.1:5432): every benchmark process inherits it.
const database = await findDatabase();
const started = Date.now();
const outcomes: Outcome[] = [];
for (const name of names) {
  process.stderr.write(`\n=== bench ${name} ===\n`);
  const outcome = await runOne(name);
  outcomes.push(outcome);
  process.stderr.write(
    `=== ${name}: ${outcome.report ? 'done' : `FAILED (exit ${outcome.exitCode})`} in ${outcome.seconds.toFixed(0)} s ===\n`,
  );
}

/** Why a benchmark skipped itself (its report says `skipped`), if it did. */
const skipReason = (o: Outcome): string | undefined => {
  const skipped = (o.report as (BenchReport & { skipped?: unknown }) | undefined)?.skipped;
  return typeof skipped === 'string' ? skipped : undefined;
};
const reports = outcomes.flatMap((o) => (o.report && !skipReason(o) ? [o.report] : []));
mkdirSync(RESULTS_DIR, { recursive: true });
for (const r of reports) writeFileSync(`${RESULTS_DIR}${r.name}.json`, JSON.stringify(r, null, 2));
const charts = await renderCharts(reports);
const failed = outcomes
  .filter((o) => !o.report || o.exitCode !== 0)
  .map((o) => ({ name: o.name, exitCode: o.exitCode }));
const skipped = outcomes.flatMap((o) => {
  const reason = o.exitCode === 0 ? skipReason(o) : undefined;
  return reason ? [{ name: o.name, reason }] : [];
});
const totalSeconds = (Date.now() - started) / 1000;

const ratios: Record<string, number> = {};
const figures: Record<string, number | string | boolean> = {};
for (const r of reports) {
  for (const [k, v] of Object.entries(r.ratios ?? {})) ratios[`${r.name}: ${k}`] = v;
  const f = (r as BenchReport & { figures?: Record<string, number | string | boolean> }).figures ?? {};
  for (const [k, v] of Object.entries(f)) figures[`${r.name}: ${k}`] = v;
}
const aggregate = {
  name: 'all',
  machine: machineInfo(),
  // Other benchmarks may report other shapes: their whole reports are kept under `benchmarks`.
  results: reports.flatMap((r) =>
    (Array.isArray(r.results) ? r.results : []).map((x) => ({ bench: r.name, ...x })),
  ),
  ratios,
  figures,
  seconds: Object.fromEntries([
    ...outcomes.map((o) => [o.name, o.seconds] as const),
    ['total', totalSeconds] as const,
  ]),
  charts,
  database,
  failed,
  skipped,
  benchmarks: reports,
  quick,
};

const summary = [
  '## run',
  '',
  `${new Date().toISOString()} · \`pnpm bench${quick ? ' --quick' : ''}\` · ${totalSeconds.toFixed(0)} s · database: ${database}`,
  '',
  '| benchmark | seconds | outcome |',
  '|---|---:|---|',
  ...outcomes.map(
    (o) =>
      `| ${o.name} | ${o.seconds.toFixed(0)} | ${o.report && o.exitCode === 0 ? (skipReason(o) ? `skipped (${skipReason(o)})` : 'ok') : `failed (exit ${o.exitCode})`} |`,
  ),
  '',
  ...(charts.length
    ? [`Charts: ${charts.map((c) => `[${c}](${c.replace('bench/results/', '')})`).join(', ')}`]
    : []),
].join('\n');
upsertSection(`${RESULTS_DIR}latest.md`, 'run', summary);
process.stderr.write(`\n${summary}\n\n`);
if (json) console.log(JSON.stringify(aggregate));
// Failures are listed in the JSON and the exit code says so. pnpm then prints an ELIFECYCLE line on
// stdout: to parse the JSON as the last line, run `pnpm -s bench --json` (or tsx bench/run.ts).
if (failed.length) {
  process.stderr.write(`[run] failed: ${failed.map((f) => f.name).join(', ')}\n`);
  process.exitCode = 1;
}
