import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { BenchReport } from '../lib/report.js';
import { upsertSection } from '../lib/report.js';
import { createTestDatabase } from '@byok/store/testing';
import { findDatabase } from './find-database.js';
import { tempDir } from './processes.js';

/** `bench/results/` (git-ignored). */
export const RESULTS_DIR = fileURLToPath(new URL('../results/', import.meta.url));

/** Flags every benchmark takes: `--json` (last line is the report), `--quick` (smoke run). */
export function benchFlags(argv: readonly string[] = process.argv.slice(2)): {
  json: boolean;
  quick: boolean;
} {
  return { json: argv.includes('--json'), quick: argv.includes('--quick') };
}

/** A report with headline figures beside the harness's results and ratios. */
export interface FiguresReport extends BenchReport {
  /** Headline numbers (counts, latencies, targets) keyed by a readable name. */
  figures: Record<string, number | string | boolean>;
}

/**
 * Prints `markdown`, replaces the report's section in `bench/results/latest.md`, saves
 * `bench/results/<name>.json` (for `bench/chart.ts`), and with `--json` prints the report as the last line.
 */
export function publish(report: BenchReport, markdown: string, json: boolean): void {
  console.log(markdown);
  upsertSection(`${RESULTS_DIR}latest.md`, report.name, markdown.trimEnd());
  mkdirSync(RESULTS_DIR, { recursive: true });
  writeFileSync(`${RESULTS_DIR}${report.name}.json`, JSON.stringify(report, null, 2));
  if (json) console.log(JSON.stringify(report));
}

/** Where the service under test keeps its data. */
export interface BenchDatabase {
  /** Environment for the service process (DATABASE_URL and/or DATA_DIR). */
  env: Record<string, string>;
  kind: 'postgres' | 'embedded';
  /** One line naming the choice, for the report. */
  description: string;
  /** The database URL when it is a real PostgreSQL (shared by several instances). */
  databaseUrl: string | undefined;
  drop(): Promise<void>;
}

/**
 * A fresh database for one benchmark run: a new database on the PostgreSQL server named by
 * `DATABASE_URL`, else on one answering on 127.0.0.1:5432 (findDatabase), else the service's
 * embedded default (PGlite under a temp DATA_DIR).
 */
export async function benchDatabase(): Promise<BenchDatabase> {
  await findDatabase();
  const dir = await tempDir('byok-bench-');
  if (process.env.DATABASE_URL) {
    const db = await createTestDatabase({ require: 'postgres' });
    return {
      env: { DATABASE_URL: db.databaseUrl, DATA_DIR: dir.path },
      kind: 'postgres',
      description: `PostgreSQL ${new URL(db.databaseUrl).host} (fresh database ${new URL(db.databaseUrl).pathname.slice(1)})`,
      databaseUrl: db.databaseUrl,
      async drop() {
        await db.drop();
        await dir.remove();
      },
    };
  }
  return {
    env: { DATA_DIR: dir.path },
    kind: 'embedded',
    description: 'embedded PGlite (the service default; no DATABASE_URL, nothing on 127.0.0.1:5432)',
    databaseUrl: undefined,
    drop: () => dir.remove(),
  };
}

/** Number formatting for tables. */
export const fmt = (n: number | undefined, digits = 0): string =>
  n === undefined || Number.isNaN(n)
    ? '-'
    : n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
