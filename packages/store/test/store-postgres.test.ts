import { mkdtemp, rm, writeFile, copyFile, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  DEFAULT_MIGRATIONS_DIR,
  StoreError,
  createPool,
  migrate,
  toStoreError,
  withTransaction,
  type Store,
} from '../src/index.js';
import { createTestDatabase, type TestDatabase } from '../src/testing.js';

let db: TestDatabase;
let store: Store;

beforeAll(async () => {
  db = await createTestDatabase({ require: 'postgres' });
  store = await createPool({ databaseUrl: db.databaseUrl, max: 4 });
});

afterAll(async () => {
  await store?.close();
  await db?.drop();
});

describe('migrate (PostgreSQL)', () => {
  it('applies every shipped migration once and is idempotent', async () => {
    const shipped = (await readdir(fileURLToPath(DEFAULT_MIGRATIONS_DIR)))
      .filter((f) => f.endsWith('.sql'))
      .sort();
    const first = await migrate(store.pool);
    expect(first.applied).toEqual(shipped.map((f) => f.slice(0, 4)));
    const second = await migrate(store.pool);
    expect(second.applied).toEqual([]);
    expect(second.skipped).toEqual(first.applied);
    const { rows } = await store.pool.query(
      'SELECT version, checksum FROM schema_migrations ORDER BY version',
    );
    expect(rows.map((r) => r.version)).toEqual(first.applied);
    expect(rows.every((r) => /^[0-9a-f]{64}$/.test(r.checksum))).toBe(true);
  });

  it('is safe when three pools migrate the same fresh database at once', async () => {
    const fresh = await createTestDatabase({ require: 'postgres' });
    const stores = await Promise.all(
      [1, 2, 3].map(() => createPool({ databaseUrl: fresh.databaseUrl, max: 2 })),
    );
    try {
      const results = await Promise.all(stores.map((s) => migrate(s.pool)));
      const appliedCounts = results.map((r) => r.applied.length);
      const total = results[0]!.applied.length + results[0]!.skipped.length;
      // Every version was applied by exactly one of the three.
      expect(appliedCounts.reduce((a, b) => a + b, 0)).toBe(total);
      const all = results.flatMap((r) => r.applied).sort();
      expect(new Set(all).size).toBe(all.length);
      const { rows } = await stores[0]!.pool.query('SELECT count(*)::int AS n FROM schema_migrations');
      expect(rows[0].n).toBe(total);
    } finally {
      await Promise.all(stores.map((s) => s.close()));
      await fresh.drop();
    }
  });

  it('refuses to run when an applied migration file was changed', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'byok-mig-'));
    const fresh = await createTestDatabase({ require: 'postgres' });
    const s = await createPool({ databaseUrl: fresh.databaseUrl, max: 1 });
    try {
      await writeFile(join(dir, '0001_one.sql'), 'CREATE TABLE mig_check_one (a int);');
      expect((await migrate(s.pool, { dir })).applied).toEqual(['0001']);
      await writeFile(join(dir, '0001_one.sql'), 'CREATE TABLE mig_check_one (a int, b int);');
      await writeFile(join(dir, '0002_two.sql'), 'CREATE TABLE mig_check_two (a int);');
      await expect(migrate(s.pool, { dir })).rejects.toMatchObject({ code: 'MIGRATION_MISMATCH' });
      // Nothing after the mismatch was applied either.
      const { rows } = await s.pool.query("SELECT to_regclass('mig_check_two') AS t");
      expect(rows[0].t).toBeNull();
    } finally {
      await s.close();
      await fresh.drop();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('rolls back a failing migration completely', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'byok-mig-'));
    try {
      await copyFile(
        fileURLToPath(new URL('0001_core.sql', DEFAULT_MIGRATIONS_DIR)),
        join(dir, '0001_core.sql'),
      );
      await writeFile(join(dir, '0099_bad.sql'), 'CREATE TABLE mig_bad (a int); SELECT 1/0;');
      await expect(migrate(store.pool, { dir })).rejects.toBeInstanceOf(StoreError);
      const { rows } = await store.pool.query(
        "SELECT to_regclass('mig_bad') AS t, (SELECT count(*)::int FROM schema_migrations WHERE version = '0099') AS n",
      );
      expect(rows[0]).toEqual({ t: null, n: 0 });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('rejects a migration file whose name has no version', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'byok-mig-'));
    try {
      await writeFile(join(dir, 'core.sql'), 'SELECT 1;');
      await expect(migrate(store.pool, { dir })).rejects.toMatchObject({ code: 'MIGRATION_MISMATCH' });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('withTransaction', () => {
  beforeAll(async () => {
    await store.pool.query('CREATE TABLE tx_probe (id int PRIMARY KEY, note text)');
  });

  it('commits what the callback wrote', async () => {
    const out = await withTransaction(store.pool, async (c) => {
      await c.query('INSERT INTO tx_probe VALUES (1, $1)', ['a']);
      return 'done';
    });
    expect(out).toBe('done');
    const { rows } = await store.pool.query('SELECT note FROM tx_probe WHERE id = 1');
    expect(rows).toEqual([{ note: 'a' }]);
  });

  it('rolls back when the callback throws and rethrows the domain error unchanged', async () => {
    class Boom extends Error {}
    await expect(
      withTransaction(store.pool, async (c) => {
        await c.query('INSERT INTO tx_probe VALUES (2, $1)', ['b']);
        throw new Boom('no');
      }),
    ).rejects.toBeInstanceOf(Boom);
    const { rows } = await store.pool.query('SELECT count(*)::int AS n FROM tx_probe WHERE id = 2');
    expect(rows[0].n).toBe(0);
  });

  it('maps a unique violation to CONFLICT with the constraint name and rolls back', async () => {
    const err = await withTransaction(store.pool, async (c) => {
      await c.query('INSERT INTO tx_probe VALUES (3, $1)', ['c']);
      await c.query('INSERT INTO tx_probe VALUES (1, $1)', ['row-value-x9']);
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreError);
    expect(err).toMatchObject({ code: 'CONFLICT', sqlState: '23505', constraint: 'tx_probe_pkey' });
    expect((err as Error).message).not.toContain('row-value-x9');
    const { rows } = await store.pool.query('SELECT count(*)::int AS n FROM tx_probe WHERE id = 3');
    expect(rows[0].n).toBe(0);
  });

  it('accepts an isolation level', async () => {
    const level = await withTransaction(
      store.pool,
      async (c) => (await c.query('SHOW transaction_isolation')).rows[0].transaction_isolation,
      { isolation: 'serializable' },
    );
    expect(level).toBe('serializable');
  });

  it('leaves the pool usable after many failed transactions', async () => {
    for (let i = 0; i < 10; i++) {
      await expect(withTransaction(store.pool, async (c) => c.query('SELECT 1/0'))).rejects.toMatchObject({
        code: 'INTERNAL',
        sqlState: '22012',
      });
    }
    const { rows } = await store.pool.query('SELECT 1 AS one');
    expect(rows[0].one).toBe(1);
  });
});

describe('error mapping', () => {
  it('maps SQLSTATE classes to stable codes', () => {
    expect(toStoreError({ code: '23503', message: 'fk' }).code).toBe('CONSTRAINT_VIOLATION');
    expect(toStoreError({ code: '40001', message: 's' }).code).toBe('SERIALIZATION_FAILURE');
    expect(toStoreError({ code: '40P01', message: 'd' }).code).toBe('SERIALIZATION_FAILURE');
    expect(toStoreError({ code: '42501', message: 'p' }).code).toBe('PERMISSION_DENIED');
    expect(toStoreError({ code: '57P01', message: 'shutdown' }).code).toBe('UNAVAILABLE');
    expect(toStoreError({ code: '08006', message: 'x' }).code).toBe('UNAVAILABLE');
    expect(toStoreError({ code: 'ECONNREFUSED', message: 'connect ECONNREFUSED' }).code).toBe('UNAVAILABLE');
    expect(toStoreError(new Error('Connection terminated unexpectedly')).code).toBe('UNAVAILABLE');
    expect(toStoreError('weird').code).toBe('INTERNAL');
    expect(toStoreError({ code: '42601', message: 'syntax' }).retryable).toBe(false);
    expect(toStoreError({ code: '40001', message: 's' }).retryable).toBe(true);
  });

  it('fails createPool with UNAVAILABLE when nothing listens', async () => {
    await expect(
      createPool({ databaseUrl: 'postgres://postgres@127.0.0.1:1/none', connectionTimeoutMs: 2000 }),
    ).rejects.toMatchObject({ code: 'UNAVAILABLE' });
  });

  it('logs SQL text and duration but never parameters', async () => {
    const lines: object[] = [];
    const log = (o: object): void => {
      lines.push(o);
    };
    const logged = await createPool({
      databaseUrl: db.databaseUrl,
      max: 1,
      logger: { debug: log, info: log, warn: log, error: log },
    });
    try {
      await logged.pool.query('SELECT $1::text AS v', ['sekrit-param-value']);
      await withTransaction(logged.pool, async (c) => c.query('SELECT $1::text AS v', ['other-sekrit']));
    } finally {
      await logged.close();
    }
    const text = JSON.stringify(lines);
    expect(text).toContain('SELECT $1::text AS v');
    expect(text).toContain('durationMs');
    expect(text).not.toContain('sekrit');
  });
});
