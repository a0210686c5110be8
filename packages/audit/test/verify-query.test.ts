import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createPool, type Store } from '@byok/store';
import {
  AuditQueryError,
  createAuditWriter,
  queryEvents,
  verifyChain,
  type AuditEventInput,
} from '../src/index.js';
import { openAuditTestDb, type AuditTestDb } from './audit-db.js';

let t: AuditTestDb;
// One connection with triggers bypassed, as an insider with superuser rights would tamper.
let tamper: Store;

beforeAll(async () => {
  t = await openAuditTestDb();
  tamper = await createPool({ databaseUrl: t.db.databaseUrl, max: 1 });
});

async function tamperWith(...statements: string[]): Promise<void> {
  const client = await tamper.pool.connect();
  try {
    await client.query('SET session_replication_role = replica');
    for (const sql of statements) await client.query(sql);
  } finally {
    client.release();
  }
}

afterAll(async () => {
  await tamper?.close();
  await t?.close();
});

const ev = (tenantId: string, i: number, over: Partial<AuditEventInput> = {}): AuditEventInput => ({
  tenantId,
  action: i % 3 === 0 ? 'secret.reveal' : 'data.decrypt',
  outcome: i % 4 === 0 ? 'denied' : 'success',
  actorTokenId: `tok_${i % 2}`,
  purpose: 'support',
  requestId: `r-${i}`,
  ...over,
});

async function seed(chain: string, n: number): Promise<void> {
  const w = createAuditWriter({ pool: t.store.pool });
  await w.recordMany(Array.from({ length: n }, (_, i) => ev(chain, i + 1)));
  await w.close();
}

describe('verifyChain', () => {
  it('verifies an intact chain in several pages', async () => {
    await seed('v-ok', 25);
    expect(await verifyChain(t.store.pool, 'v-ok', { batchSize: 7 })).toMatchObject({
      ok: true,
      checked: 25,
      headSeq: 25,
    });
    expect(await verifyChain(t.store.pool, 'v-ok', { fromSeq: 10 })).toMatchObject({ ok: true, checked: 16 });
  });

  it('detects an edited field and names its seq', async () => {
    await seed('v-edit', 10);
    await tamperWith("UPDATE audit_events SET purpose = 'none' WHERE chain = 'v-edit' AND seq = 4");
    expect(await verifyChain(t.store.pool, 'v-edit', { batchSize: 3 })).toMatchObject({
      ok: false,
      reason: 'edited',
      firstBrokenSeq: 4,
      checked: 3,
    });
  });

  it('detects a deleted middle row', async () => {
    await seed('v-del', 10);
    await tamperWith("DELETE FROM audit_events WHERE chain = 'v-del' AND seq = 6");
    expect(await verifyChain(t.store.pool, 'v-del')).toMatchObject({
      ok: false,
      reason: 'deleted',
      firstBrokenSeq: 6,
    });
  });

  it('detects two swapped rows', async () => {
    await seed('v-swap', 10);
    await tamperWith(
      "UPDATE audit_events SET seq = 1000 WHERE chain = 'v-swap' AND seq = 3",
      "UPDATE audit_events SET seq = 3 WHERE chain = 'v-swap' AND seq = 4",
      "UPDATE audit_events SET seq = 4 WHERE chain = 'v-swap' AND seq = 1000",
    );
    expect(await verifyChain(t.store.pool, 'v-swap')).toMatchObject({
      ok: false,
      reason: 'reordered',
      firstBrokenSeq: 3,
    });
  });

  it('detects a truncated tail from the chain head', async () => {
    await seed('v-trunc', 10);
    await tamperWith("DELETE FROM audit_events WHERE chain = 'v-trunc' AND seq > 7");
    expect(await verifyChain(t.store.pool, 'v-trunc')).toMatchObject({
      ok: false,
      reason: 'truncated',
      firstBrokenSeq: 8,
      headSeq: 10,
      checked: 7,
    });
  });

  it('reports an unknown chain as empty and intact', async () => {
    expect(await verifyChain(t.store.pool, 'v-none')).toMatchObject({ ok: true, checked: 0, headSeq: 0 });
  });
});

describe('queryEvents', () => {
  beforeAll(async () => {
    await seed('q-a', 30);
    await seed('q-b', 5);
  });

  it('pages through one chain with an opaque cursor, no duplicates or gaps', async () => {
    const seen: number[] = [];
    let cursor: string | null = null;
    do {
      const page = await queryEvents(t.store.pool, { tenantId: 'q-a' }, cursor, 7);
      expect(page.events.length).toBeLessThanOrEqual(7);
      seen.push(...page.events.map((e) => e.seq));
      expect(page.events.every((e) => e.chain === 'q-a' && /^[0-9a-f]{64}$/.test(e.hash))).toBe(true);
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
  });

  it('filters by action, outcome, actor and purpose', async () => {
    const page = await queryEvents(
      t.store.pool,
      { chain: 'q-a', action: 'secret.reveal', outcome: 'denied', actorTokenId: 'tok_0', purpose: 'support' },
      null,
      500,
    );
    // i in 1..30 with i % 3 == 0, i % 4 == 0, i even: 12 and 24.
    expect(page.events.map((e) => e.requestId)).toEqual(['r-12', 'r-24']);
    expect(page.nextCursor).toBeNull();
  });

  it('pages across chains by time and honours since/until', async () => {
    const all: string[] = [];
    let cursor: string | null = null;
    const since = new Date(Date.now() - 60_000);
    do {
      const page = await queryEvents(
        t.store.pool,
        { since, until: new Date(Date.now() + 60_000) },
        cursor,
        50,
      );
      all.push(...page.events.map((e) => `${e.chain}:${e.seq}`));
      cursor = page.nextCursor;
    } while (cursor);
    expect(new Set(all).size).toBe(all.length);
    expect(all).toEqual(expect.arrayContaining(['q-a:30', 'q-b:5']));
    expect((await queryEvents(t.store.pool, { until: since }, null, 10)).events).toEqual([]);
  });

  it('rejects a bad limit, a forged cursor and a cursor from another kind of query', async () => {
    await expect(queryEvents(t.store.pool, {}, null, 501)).rejects.toBeInstanceOf(AuditQueryError);
    await expect(queryEvents(t.store.pool, {}, 'not-a-cursor', 10)).rejects.toBeInstanceOf(AuditQueryError);
    const chainPage = await queryEvents(t.store.pool, { chain: 'q-a' }, null, 2);
    await expect(queryEvents(t.store.pool, {}, chainPage.nextCursor, 10)).rejects.toBeInstanceOf(
      AuditQueryError,
    );
  });
});
