import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { setTimeout as sleep } from 'node:timers/promises';
import { StoreError, createPool, listenChannel, notifyChannel, type Store } from '../src/index.js';
import { createTestDatabase, type TestDatabase } from '../src/testing.js';

let db: TestDatabase;
let store: Store;

beforeAll(async () => {
  db = await createTestDatabase({ require: 'postgres' });
  store = await createPool({ databaseUrl: db.databaseUrl, max: 2 });
});

afterAll(async () => {
  await store?.close();
  await db?.drop();
});

async function until(what: string, check: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

describe('listenChannel / notifyChannel', () => {
  it('delivers notifications, and after losing its connection resyncs, reconnects and delivers again', async () => {
    const got: string[] = [];
    let resyncs = 0;
    const listener = await listenChannel({
      databaseUrl: db.databaseUrl,
      channel: 'byok_test_events',
      onNotification: (p) => got.push(p),
      onResync: () => (resyncs += 1),
      retryMs: 20,
    });
    try {
      expect(resyncs).toBe(1);
      await notifyChannel(store.pool, 'byok_test_events', 'one');
      await until('first notification', () => got.length === 1);

      // The server drops the listener's connection (failover, idle kill, restart).
      const { rowCount } = await store.pool.query(
        `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
         WHERE datname = current_database() AND query LIKE 'LISTEN byok_test_events%'`,
      );
      expect(rowCount).toBe(1);
      // Once on the loss, once when LISTEN is back.
      await until('resync after reconnect', () => resyncs >= 3);
      await notifyChannel(store.pool, 'byok_test_events', 'two');
      await until('notification after reconnect', () => got.length === 2);
      expect(got).toEqual(['one', 'two']);
    } finally {
      await listener.stop();
    }
    await notifyChannel(store.pool, 'byok_test_events', 'after stop');
    await sleep(200);
    expect(got).toEqual(['one', 'two']);
  });

  it('refuses a channel name that is not a plain identifier', async () => {
    await expect(notifyChannel(store.pool, 'x; DROP TABLE tenants', 'p')).rejects.toBeInstanceOf(StoreError);
  });
});
