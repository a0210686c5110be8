import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { startEmbeddedPostgres } from './pool.js';

/** A throw-away database for one test file. */
export interface TestDatabase {
  databaseUrl: string;
  kind: 'postgres' | 'pglite';
  /** Drops the database (or stops the embedded server and deletes its files). */
  drop(): Promise<void>;
}

/** Options for {@link createTestDatabase}. */
export interface TestDatabaseOptions {
  /**
   * `'postgres'`: the test needs a real server (several connections, roles); fail loudly
   * instead of falling back to PGlite.
   */
  require?: 'postgres';
}

function say(line: string): void {
  process.stderr.write(`[store/testing] ${line}\n`);
}

async function onServer(serverUrl: string): Promise<TestDatabase> {
  const name = `byok_t_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  say(`using PostgreSQL from DATABASE_URL, database ${name}`);
  return {
    databaseUrl: url.toString(),
    kind: 'postgres',
    async drop() {
      const c = new pg.Client({ connectionString: serverUrl });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}

function containerEngineLikely(): boolean {
  return (
    existsSync('/var/run/docker.sock') ||
    existsSync(`/run/user/${process.getuid?.() ?? 0}/podman/podman.sock`)
  );
}

async function inContainer(): Promise<TestDatabase | undefined> {
  if (!containerEngineLikely()) return undefined;
  // Optional: only used when the package is installed (it is not in this workspace).
  const moduleName = '@testcontainers/postgresql';
  let mod: { PostgreSqlContainer: new (image: string) => { start(): Promise<ContainerLike> } };
  try {
    mod = (await import(moduleName)) as typeof mod;
  } catch {
    return undefined;
  }
  const container = await new mod.PostgreSqlContainer('postgres:15-alpine').start();
  say('using a PostgreSQL container (testcontainers)');
  return {
    databaseUrl: container.getConnectionUri(),
    kind: 'postgres',
    drop: () => container.stop().then(() => {}),
  };
}

interface ContainerLike {
  getConnectionUri(): string;
  stop(): Promise<unknown>;
}

/**
 * Creates a fresh database for a test: on the server named by `DATABASE_URL` (a new
 * `byok_t_<random>` database), else in a testcontainers PostgreSQL if a container engine and the
 * module exist, else an embedded PGlite in a temp dir (use `max: 1` pools against it).
 * Prints one line to stderr naming the choice.
 */
export async function createTestDatabase(opts: TestDatabaseOptions = {}): Promise<TestDatabase> {
  // Test support, not library code: reading the environment here is the documented exception.
  const serverUrl = process.env.DATABASE_URL;
  if (serverUrl) return onServer(serverUrl);
  const container = await inContainer();
  if (container) return container;
  if (opts.require === 'postgres') {
    throw new Error(
      'this test needs a real PostgreSQL: set DATABASE_URL (e.g. postgres://postgres@127.0.0.1:5432/test)',
    );
  }
  const dir = await mkdtemp(join(tmpdir(), 'byok-pglite-'));
  const server = await startEmbeddedPostgres(dir);
  say(`using embedded PGlite in ${dir} (no DATABASE_URL, no container engine)`);
  return {
    databaseUrl: server.databaseUrl,
    kind: 'pglite',
    async drop() {
      await server.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
