import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  machineInfo,
  measureCases,
  type BenchCase,
  type BenchOptions,
  type CaseResult,
  type MachineInfo,
} from './harness.js';

/** What `--json` prints as the last line. */
export interface BenchReport {
  name: string;
  machine: MachineInfo;
  results: CaseResult[];
  ratios: Record<string, number>;
  /** What else the figures depend on (e.g. which envelope backend ran). */
  setup?: Record<string, unknown>;
}

/** A benchmark: cases, timing, and the ratios worth reporting (computed from the results). */
export interface BenchDefinition extends BenchOptions {
  name: string;
  cases: BenchCase[];
  ratios?: (byId: (id: string) => CaseResult) => Record<string, number>;
  setup?: Record<string, unknown>;
}

const RESULTS_FILE = fileURLToPath(new URL('../results/latest.md', import.meta.url));

const fmt = (n: number | undefined, digits = 0) =>
  n === undefined || Number.isNaN(n)
    ? '-'
    : n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

/** A Markdown table of results and ratios. */
export function toMarkdown(report: BenchReport): string {
  const m = report.machine;
  const lines = [
    `## ${report.name}`,
    '',
    `${new Date().toISOString()} · ${m.cpus} x ${m.cpuModel} · Node ${m.node}`,
    ...(report.setup ? ['', `setup: \`${JSON.stringify(report.setup)}\``] : []),
    '',
    '| case | median ops/s | MB/s | min | max | IQR/median | rounds | ops | page faults/op |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...report.results.map(
      (r) =>
        `| ${r.id} | ${fmt(r.median)} | ${fmt(r.mbPerSec, 1)} | ${fmt(r.min)} | ${fmt(r.max)} | ${fmt(r.iqrRatio * 100, 1)}% | ${r.rounds.length} | ${r.ops} | ${fmt(r.faultsPerOp, 1)} |`,
    ),
  ];
  const ratioEntries = Object.entries(report.ratios);
  if (ratioEntries.length > 0) {
    lines.push(
      '',
      '| ratio | value |',
      '|---|---:|',
      ...ratioEntries.map(([k, v]) => `| ${k} | ${fmt(v, 2)} |`),
    );
  }
  return lines.join('\n') + '\n';
}

/** Replaces (or appends) the `## name` section of `file` with `section`. */
export function upsertSection(file: string, name: string, section: string): void {
  const existing = existsSync(file)
    ? readFileSync(file, 'utf8')
    : '# Benchmark results (latest run, git-ignored)\n\n';
  const parts = existing.split(/^(?=## )/m);
  const index = parts.findIndex((p) => p.startsWith(`## ${name}\n`));
  const body = section.trimEnd() + '\n\n';
  if (index >= 0) parts[index] = body;
  else parts.push(body);
  const last = parts.length - 1;
  if (index < 0 && last > 0 && !(parts[last - 1] as string).endsWith('\n\n')) parts[last - 1] += '\n';
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, parts.join(''));
}

/**
 * Runs a benchmark from the command line: prints a table, updates `bench/results/latest.md`, and with
 * `--json` prints the report as one JSON object on the last line. `--quick` does 2 short rounds (smoke test).
 */
export async function runBench(
  def: BenchDefinition,
  argv: readonly string[] = process.argv.slice(2),
): Promise<BenchReport> {
  const json = argv.includes('--json');
  const quick = argv.includes('--quick');
  const options: BenchOptions = quick
    ? { rounds: 2, roundMs: 50, warmupMs: 20 }
    : { rounds: def.rounds, roundMs: def.roundMs, warmupMs: def.warmupMs };
  const cases = quick ? def.cases.map((c) => ({ ...c, roundMs: 50 })) : def.cases;
  const started = Date.now();
  const results = await measureCases(cases, options);
  const byId = (id: string) => {
    const r = results.find((x) => x.id === id);
    if (!r) throw new Error(`no benchmark case ${id}`);
    return r;
  };
  const report: BenchReport = {
    name: def.name,
    machine: machineInfo(),
    results,
    ratios: def.ratios?.(byId) ?? {},
    ...(def.setup ? { setup: def.setup } : {}),
  };
  const markdown = toMarkdown(report);
  console.log(markdown);
  console.log(
    `(${((Date.now() - started) / 1000).toFixed(1)} s; written to ${path.relative(process.cwd(), RESULTS_FILE)})`,
  );
  upsertSection(RESULTS_FILE, def.name, markdown.trimEnd());
  if (json) console.log(JSON.stringify(report));
  return report;
}
