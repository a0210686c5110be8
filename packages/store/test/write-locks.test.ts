import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  createPool,
  migrate,
  secretRepository,
  tenantRepository,
  withTransaction,
  writeLocks,
  type Store,
} from '../src/index.js';
import { createTestDatabase, type TestDatabase } from '../src/testing.js';

// The first write of a secret has no row to lock: the advisory lock is what makes a second writer
// wait until the first commits, so that it reads the version the first one stored.

let db: TestDatabase;
let store: Store;

beforeAll(async () => {
  db = await createTestDatabase({ require: 'postgres' });
  store = await createPool({ databaseUrl: db.databaseUrl, max: 4 });
  await migrate(store.pool);
  await tenantRepository.create(store.pool, { id: 'wl', name: 'wl' });
});
afterAll(async () => {
  await store?.close();
  await db?.drop();
});

/** Resolves once some session of this database waits on an advisory lock (else rejects after 10 s). */
async function someoneWaitsOnALock(): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    const { rows } = await store.pool.query(
      `SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND NOT granted`,
    );
    if ((rows[0] as { n: number }).n > 0) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error('no session waited on the lock');
}

const version = (name: string, v: number) => ({
  tenantId: 'wl',
  name,
  version: v,
  kind: 'generic',
  labels: {},
  ciphertext: Buffer.from([v]),
  tkVersion: 1,
  hint: 'h',
  fingerprint: 'f',
});

describe('writeLocks.secret', () => {
  it('makes a second first-writer of a secret wait, then see the version the first one stored', async () => {
    let releaseFirst!: () => void;
    const firstMayCommit = new Promise<void>((r) => (releaseFirst = r));
    const first = withTransaction(store.pool, async (tx) => {
      await writeLocks.secret(tx, 'wl', 'new-secret');
      expect(await secretRepository.nextVersion(tx, 'wl', 'new-secret')).toBe(1);
      await secretRepository.putVersion(tx, version('new-secret', 1));
      await firstMayCommit;
    });
    // Give the first transaction its lock before the second asks for it.
    for (;;) {
      const { rows } = await store.pool.query(
        `SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory'`,
      );
      if ((rows[0] as { n: number }).n > 0) break;
      await new Promise((r) => setTimeout(r, 5));
    }
    const second = withTransaction(store.pool, async (tx) => {
      await writeLocks.secret(tx, 'wl', 'new-secret');
      return secretRepository.nextVersion(tx, 'wl', 'new-secret');
    });
    await someoneWaitsOnALock();
    releaseFirst();
    await first;
    expect(await second).toBe(2);
  });

  it('does not make writers of other secrets or tenants wait', async () => {
    await withTransaction(store.pool, async (tx) => {
      await writeLocks.secret(tx, 'wl', 'a');
      await writeLocks.tenantKeys(tx, 'wl');
      // Another connection takes the neighbouring locks at once (it would hang here otherwise).
      await withTransaction(store.pool, async (other) => {
        await writeLocks.secret(other, 'wl', 'b');
        await writeLocks.secret(other, 'wl2', 'a');
        await writeLocks.tenantKeys(other, 'wl2');
      });
    });
  });
});
