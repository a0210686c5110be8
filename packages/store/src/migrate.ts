import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { Pool, PoolClient } from 'pg';
import { StoreError } from './store-errors.js';
import type { StoreLogger } from './store-types.js';
import { withTransaction } from './transaction.js';

/** The migrations shipped with this package. */
export const DEFAULT_MIGRATIONS_DIR = new URL('../migrations/', import.meta.url);

// One fixed advisory-lock key serialises migrators across every instance on the database.
const MIGRATION_LOCK_KEY = 7_301_550_123;

/** Options for {@link migrate}. */
export interface MigrateOptions {
  /** Directory holding `NNNN_name.sql` files; default {@link DEFAULT_MIGRATIONS_DIR}. */
  dir?: string | URL;
  logger?: StoreLogger;
}

/** A migration file as found on disk. */
export interface MigrationFile {
  version: string;
  name: string;
  checksum: string;
  sql: string;
}

/** What {@link migrate} did. */
export interface MigrateResult {
  /** Versions applied by this call, in order. */
  applied: string[];
  /** Versions that were already applied. */
  skipped: string[];
}

const FILE_RE = /^(\d+)_([A-Za-z0-9_-]+)\.sql$/;

/** Reads `*.sql` migrations from `dir` in lexical order; a file name must look like `0001_core.sql`. */
export async function loadMigrations(dir: string | URL = DEFAULT_MIGRATIONS_DIR): Promise<MigrationFile[]> {
  const path = typeof dir === 'string' ? dir : fileURLToPath(dir);
  const names = (await readdir(path)).filter((n) => n.endsWith('.sql')).sort();
  const files: MigrationFile[] = [];
  for (const fileName of names) {
    const m = FILE_RE.exec(fileName);
    if (!m) {
      throw new StoreError(
        'MIGRATION_MISMATCH',
        `migration file name must look like 0001_name.sql: ${fileName}`,
      );
    }
    const sql = await readFile(`${path.replace(/\/$/, '')}/${fileName}`, 'utf8');
    files.push({
      version: m[1] as string,
      name: m[2] as string,
      checksum: createHash('sha256').update(sql).digest('hex'),
      sql,
    });
  }
  const versions = new Set(files.map((f) => f.version));
  if (versions.size !== files.length) {
    throw new StoreError('MIGRATION_MISMATCH', 'two migration files share a version number');
  }
  return files;
}

async function lockAndLoadApplied(client: PoolClient): Promise<Map<string, string>> {
  // Taken before anything else so that concurrent starters queue here; released at COMMIT.
  await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK_KEY]);
  await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version text PRIMARY KEY,
    name text NOT NULL,
    checksum text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
  )`);
  const { rows } = await client.query<{ version: string; checksum: string }>(
    'SELECT version, checksum FROM schema_migrations',
  );
  return new Map(rows.map((r) => [r.version, r.checksum]));
}

function assertUnchanged(file: MigrationFile, applied: Map<string, string>): void {
  const recorded = applied.get(file.version);
  if (recorded !== undefined && recorded !== file.checksum) {
    throw new StoreError(
      'MIGRATION_MISMATCH',
      `migration ${file.version}_${file.name} was changed after it was applied; add a new migration instead`,
    );
  }
}

/**
 * Applies every pending migration in lexical order, each in its own transaction under a
 * transaction-scoped advisory lock, so several instances may start at once. Refuses
 * (`MIGRATION_MISMATCH`) before applying anything if an applied migration's file changed.
 * Migrations must be transactional SQL (no `CREATE INDEX CONCURRENTLY`).
 */
export async function migrate(pool: Pool, opts: MigrateOptions = {}): Promise<MigrateResult> {
  const files = await loadMigrations(opts.dir);
  const initial = await withTransaction(pool, async (client) => lockAndLoadApplied(client));
  for (const file of files) assertUnchanged(file, initial);

  const result: MigrateResult = { applied: [], skipped: [] };
  for (const file of files) {
    const applied = await withTransaction(pool, async (client) => {
      // Re-read under the lock: another instance may have applied it since the first look.
      const current = await lockAndLoadApplied(client);
      assertUnchanged(file, current);
      if (current.has(file.version)) return false;
      const started = performance.now();
      await client.query(file.sql);
      await client.query('INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)', [
        file.version,
        file.name,
        file.checksum,
      ]);
      opts.logger?.info(
        { version: file.version, name: file.name, durationMs: Math.round(performance.now() - started) },
        'migration applied',
      );
      return true;
    });
    (applied ? result.applied : result.skipped).push(file.version);
  }
  return result;
}
