import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  auditSinkRepository,
  createPool,
  migrate,
  tenantRepository,
  withTransaction,
  type Store,
} from '../src/index.js';
import { createTestDatabase, type TestDatabase } from '../src/testing.js';

let db: TestDatabase;
let store: Store;

const sink = (id: string, tenantId: string, startAtHead = false) => ({
  id,
  tenantId,
  url: 'https://siem.example/hook',
  secretSealed: Buffer.from('sealed'),
  batchSize: 50,
  startAtHead,
});

beforeAll(async () => {
  db = await createTestDatabase({ require: 'postgres' });
  store = await createPool({ databaseUrl: db.databaseUrl, max: 4 });
  await migrate(store.pool);
  for (const id of ['sa', 'sb']) await tenantRepository.create(store.pool, { id, name: id });
  await store.pool.query("INSERT INTO audit_chain_heads (chain, seq, hash) VALUES ('sb', 42, $1)", [
    Buffer.alloc(32),
  ]);
});

afterAll(async () => {
  await store?.close();
  await db?.drop();
});

describe('auditSinkRepository', () => {
  it('starts a sink at 0, or at the chain head when asked, and lists it with the head', async () => {
    await auditSinkRepository.insert(store.pool, sink('snk_a1', 'sa'));
    await auditSinkRepository.insert(store.pool, sink('snk_b1', 'sb', true));
    const [a] = await auditSinkRepository.list(store.pool, 'sa');
    expect(a).toMatchObject({ id: 'snk_a1', last_delivered_seq: '0', head_seq: null, batch_size: 50 });
    const [b] = await auditSinkRepository.list(store.pool, 'sb', 'snk_b1');
    expect(b).toMatchObject({ last_delivered_seq: '42', head_seq: '42' });
    expect(await auditSinkRepository.list(store.pool, 'sa', 'snk_b1')).toEqual([]);
  });

  it('disables only a sink of the named tenant', async () => {
    await auditSinkRepository.insert(store.pool, sink('snk_a2', 'sa'));
    expect(await auditSinkRepository.disable(store.pool, 'sb', 'snk_a2')).toBe(false);
    expect(await auditSinkRepository.disable(store.pool, 'sa', 'snk_a2')).toBe(true);
    const rows = await auditSinkRepository.list(store.pool, 'sa', 'snk_a2');
    expect(rows[0]?.enabled).toBe(false);
  });

  it('never hands the same due sink to two claimers at once, and skips the ones asked', async () => {
    const claimed = await withTransaction(store.pool, async (t1) => {
      const first = await auditSinkRepository.claimDue(t1, []);
      const second = await withTransaction(store.pool, (t2) => auditSinkRepository.claimDue(t2, []));
      const skipping = await withTransaction(store.pool, (t3) =>
        auditSinkRepository.claimDue(t3, [first?.id ?? '', second?.id ?? '']),
      );
      return [first?.id, second?.id, skipping?.id];
    });
    // Two enabled sinks exist (snk_a1, snk_b1); snk_a2 is disabled.
    expect(new Set(claimed.slice(0, 2))).toEqual(new Set(['snk_a1', 'snk_b1']));
    expect(claimed[2]).toBeUndefined();
  });

  it('records a failure with a retry delay and a success that advances the cursor', async () => {
    await auditSinkRepository.markFailed(store.pool, 'snk_a1', 3, 'HTTP 500', 60_000);
    let [a] = await auditSinkRepository.list(store.pool, 'sa', 'snk_a1');
    expect(a).toMatchObject({ attempts: 3, last_error: 'HTTP 500' });
    expect(a!.next_attempt_at.getTime()).toBeGreaterThan(Date.now() + 50_000);
    expect(
      await withTransaction(store.pool, (t) => auditSinkRepository.claimDue(t, ['snk_b1'])),
    ).toBeUndefined();

    await auditSinkRepository.markDelivered(store.pool, 'snk_a1', 17);
    [a] = await auditSinkRepository.list(store.pool, 'sa', 'snk_a1');
    expect(a).toMatchObject({ attempts: 0, last_error: null, last_delivered_seq: '17' });
    expect(a!.last_success_at).toBeInstanceOf(Date);
    expect((await withTransaction(store.pool, (t) => auditSinkRepository.claimDue(t, ['snk_b1'])))?.id).toBe(
      'snk_a1',
    );
  });
});
