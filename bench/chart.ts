/**
 * Charts of benchmark results, rendered to SVG headless by Vega-Lite + Vega (no native deps).
 * `renderCharts(reports)` is called by `bench/run.ts`; `pnpm bench:chart` re-renders from the
 * `bench/results/<name>.json` files the last runs saved.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { parse as parseVega, View } from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import type { CaseResult } from './lib/harness.js';
import type { BenchReport } from './lib/report.js';
import { RESULTS_DIR } from './support/bench-output.js';

/** Renders a Vega-Lite spec to an SVG string. */
export async function toSvg(spec: TopLevelSpec): Promise<string> {
  const view = new View(parseVega(compile(spec).spec), { renderer: 'none' });
  const svg = await view.toSVG();
  view.finalize();
  return svg;
}

const PAYLOAD_ORDER = ['64B', '1KiB', '64KiB', '1MiB'];
const IMPL_ORDER = ['raw', 'ours', 'ours-native', 'esdk', 'esdk-cached'];

/** Envelope throughput (MB/s, log scale) by payload size: raw vs ours vs ESDK, encrypt and decrypt. */
export function envelopeSpec(report: BenchReport): TopLevelSpec {
  const values = report.results.map((r: CaseResult) => ({
    impl: r.labels.impl,
    op: r.labels.op,
    payload: r.labels.payload,
    mbPerSec: r.mbPerSec,
  }));
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: `Envelope throughput by payload size (${report.machine.cpus} cores, Node ${report.machine.node})`,
    data: { values },
    facet: { column: { field: 'op', type: 'nominal', title: null, sort: ['encrypt', 'decrypt'] } },
    spec: {
      width: 320,
      height: 260,
      // Lines, not bars: a bar on a log scale has no zero to start from.
      mark: { type: 'line', point: true },
      encoding: {
        x: {
          field: 'payload',
          type: 'ordinal',
          sort: PAYLOAD_ORDER,
          title: 'payload',
          axis: { labelAngle: 0 },
        },
        y: { field: 'mbPerSec', type: 'quantitative', scale: { type: 'log' }, title: 'MB/s (log scale)' },
        color: { field: 'impl', type: 'nominal', sort: IMPL_ORDER, title: 'implementation' },
        tooltip: [{ field: 'mbPerSec', format: '.1f' }],
      },
    },
  };
}

/** Service request rates beside the express no-op, with p99 latency as labels. */
export function serviceSpec(report: BenchReport): TopLevelSpec {
  const values = report.results.map((r) => {
    const p99 = (r as CaseResult & { p99Ms?: number }).p99Ms;
    return { case: r.id, rate: r.median, label: p99 === undefined ? '' : `p99 ${Math.round(p99)} ms` };
  });
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: 'Key service over HTTP, 50 connections: requests/s and p99 latency',
    data: { values },
    width: 480,
    height: 220,
    encoding: {
      y: { field: 'case', type: 'nominal', sort: null, title: null, axis: { labelLimit: 240 } },
      x: { field: 'rate', type: 'quantitative', title: 'requests/s (median of rounds)' },
    },
    layer: [
      { mark: 'bar', encoding: { color: { value: '#4c78a8' } } },
      {
        mark: { type: 'text', align: 'left', dx: 4 },
        encoding: { text: { field: 'label', type: 'nominal' } },
      },
    ],
  };
}

/** Audit verification time by chain length (log-log: a straight line of slope 1 is linear growth). */
export function verifySpec(report: BenchReport): TopLevelSpec | undefined {
  const values = report.results
    .filter((r) => r.group === 'verify')
    .map((r) => ({
      events: Number(r.labels.events),
      seconds: (r as CaseResult & { seconds?: number }).seconds,
    }));
  if (values.length === 0) return undefined;
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: 'Audit chain verification time by chain length',
    data: { values },
    width: 360,
    height: 240,
    mark: { type: 'line', point: true },
    encoding: {
      x: {
        field: 'events',
        type: 'quantitative',
        scale: { type: 'log' },
        title: 'events in the chain (log)',
      },
      y: {
        field: 'seconds',
        type: 'quantitative',
        scale: { type: 'log' },
        title: 'verifyChain seconds (log)',
      },
    },
  };
}

/** Writes every chart the given reports allow into `bench/results/`; returns the files written. */
export async function renderCharts(reports: readonly BenchReport[]): Promise<string[]> {
  const written: string[] = [];
  const write = async (file: string, spec: TopLevelSpec | undefined) => {
    if (!spec) return;
    writeFileSync(`${RESULTS_DIR}${file}`, await toSvg(spec));
    written.push(`bench/results/${file}`);
  };
  for (const r of reports) {
    if (r.name === 'envelope') await write('envelope-throughput.svg', envelopeSpec(r));
    if (r.name === 'service') await write('service.svg', serviceSpec(r));
    if (r.name === 'scaling') await write('audit-verify.svg', verifySpec(r));
  }
  return written;
}

/** Reports saved by earlier runs (`bench/results/<name>.json`). */
export function savedReports(names: readonly string[]): BenchReport[] {
  return names
    .map((n) => `${RESULTS_DIR}${n}.json`)
    .filter((f) => existsSync(f))
    .map((f) => JSON.parse(readFileSync(f, 'utf8')) as BenchReport);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const files = await renderCharts(savedReports(['envelope', 'service', 'scaling']));
  console.log(
    files.length ? `charts: ${files.join(', ')}` : 'no saved results in bench/results/: run pnpm bench first',
  );
}
