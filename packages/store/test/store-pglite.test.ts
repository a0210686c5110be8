import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';

// PGlite boots a WASM PostgreSQL (initdb on first use): seconds, more on a busy machine.
jest.setTimeout(60_000);
import { createPool, migrate, notifyChannel, withTransaction } from '../src/index.js';

let dataDir: string;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'byok-pglite-test-'));
});

afterAll(async () => {
  await rm(dataDir, { recursive: true, force: true });
});

describe('createPool without databaseUrl (embedded PGlite)', () => {
  it('serves pg over the wire, migrates, round-trips and keeps data across a restart', async () => {
    const first = await createPool({ dataDir });
    expect(first.kind).toBe('pglite');
    expect(first.databaseUrl).toMatch(/^postgres:\/\/postgres@127\.0\.0\.1:\d+\//);
    expect(first.pool.options.max).toBe(1);
    try {
      const res = await migrate(first.pool);
      expect(res.applied).toContain('0002');
      await first.pool.query(
        "INSERT INTO tenants (id, name) VALUES ('pglite-t1', 'PGlite tenant') ON CONFLICT DO NOTHING",
      );
      const { rows } = await first.pool.query('SELECT name FROM tenants WHERE id = $1', ['pglite-t1']);
      expect(rows).toEqual([{ name: 'PGlite tenant' }]);
    } finally {
      await first.close();
    }

    const second = await createPool({ dataDir });
    try {
      expect((await migrate(second.pool)).applied).toEqual([]);
      const { rows } = await second.pool.query('SELECT name FROM tenants WHERE id = $1', ['pglite-t1']);
      expect(rows).toEqual([{ name: 'PGlite tenant' }]);
    } finally {
      await second.close();
    }
  });

  it('stays usable after query errors and rolls transactions back', async () => {
    const store = await createPool();
    try {
      await store.pool.query('CREATE TABLE p (id int PRIMARY KEY)');
      await store.pool.query('INSERT INTO p VALUES (1)');
      await expect(store.pool.query('INSERT INTO p VALUES (1)')).rejects.toMatchObject({ code: '23505' });
      await expect(
        withTransaction(store.pool, async (c) => {
          await c.query('INSERT INTO p VALUES (2)');
          await c.query('INSERT INTO p VALUES (1)');
        }),
      ).rejects.toMatchObject({ code: 'CONFLICT' });
      const { rows } = await store.pool.query('SELECT id FROM p ORDER BY id');
      expect(rows).toEqual([{ id: 1 }]);
      // The publishing side of tenant events runs on the embedded database too (nobody listens there).
      await notifyChannel(store.pool, 'byok_tenant_events', '{}');
      expect((await store.pool.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    } finally {
      await store.close();
    }
  });

  it('enforces the audit triggers (plpgsql row and TRUNCATE statement triggers work in PGlite)', async () => {
    const store = await createPool();
    try {
      await migrate(store.pool);
      await expect(store.pool.query('TRUNCATE audit_events')).rejects.toMatchObject({ code: '42501' });
      await expect(store.pool.query('TRUNCATE audit_chain_heads')).rejects.toMatchObject({ code: '42501' });
      // Advisory locks (used by migrate) exist in PGlite.
      const { rows } = await store.pool.query('SELECT pg_try_advisory_lock(42) AS got');
      expect(rows[0].got).toBe(true);
    } finally {
      await store.close();
    }
  });
});
