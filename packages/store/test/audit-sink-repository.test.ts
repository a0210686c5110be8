import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { auditSinkRepository, createPool, migrate, tenantRepository, type Store } from '../src/index.js';
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

  it('never hands the same due sink to two leasers, leases one sink per tenant, and skips the ones asked', async () => {
    const first = await auditSinkRepository.leaseDue(store.pool, [], [], 10, 60_000);
    // Two enabled sinks exist (snk_a1, snk_b1), one per tenant; snk_a2 is disabled.
    expect(new Set(first.map((r) => r.id))).toEqual(new Set(['snk_a1', 'snk_b1']));
    // Leased: no other leaser gets them until the lease runs out, and no lock is held meanwhile.
    expect(await auditSinkRepository.leaseDue(store.pool, [], [], 10, 60_000)).toEqual([]);
    await auditSinkRepository.releaseLease(store.pool, 'snk_a1');
    await auditSinkRepository.releaseLease(store.pool, 'snk_b1');
    expect(await auditSinkRepository.leaseDue(store.pool, ['sa'], ['snk_b1'], 10, 0)).toEqual([]);
    const limited = await auditSinkRepository.leaseDue(store.pool, [], [], 1, 0);
    expect(limited).toHaveLength(1);
  });

  it('records a failure with a retry delay and a success that advances the cursor', async () => {
    await auditSinkRepository.markFailed(store.pool, 'snk_a1', 3, 'HTTP 500', 60_000);
    let [a] = await auditSinkRepository.list(store.pool, 'sa', 'snk_a1');
    expect(a).toMatchObject({ attempts: 3, last_error: 'HTTP 500' });
    expect(a!.next_attempt_at.getTime()).toBeGreaterThan(Date.now() + 50_000);
    expect(await auditSinkRepository.leaseDue(store.pool, [], ['snk_b1'], 10, 0)).toEqual([]);

    await auditSinkRepository.markDelivered(store.pool, 'snk_a1', 17);
    [a] = await auditSinkRepository.list(store.pool, 'sa', 'snk_a1');
    expect(a).toMatchObject({ attempts: 0, last_error: null, last_delivered_seq: '17' });
    expect(a!.last_success_at).toBeInstanceOf(Date);
    expect((await auditSinkRepository.leaseDue(store.pool, [], ['snk_b1'], 10, 0))[0]?.id).toBe('snk_a1');
  });
});
