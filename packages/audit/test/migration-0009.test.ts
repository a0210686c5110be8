import { copyFile, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { DEFAULT_MIGRATIONS_DIR, createPool, migrate, type Store } from '@byok/store';
import { createTestDatabase, type TestDatabase } from '@byok/store/testing';
import { GENESIS_HASH, canonicalJson, computeHash, createAuditWriter, verifyChain } from '../src/index.js';
import { describeOnRealPostgres } from '../../../test/support/real-postgres.js';

// A chain written before migration 0009, hashed the way that release hashed (every field, no
// client fields), must still verify once the columns exist; a new row covers them.
describeOnRealPostgres('migration 0009 keeps pre-migration chains verifying (real PostgreSQL)', () => {
  let db: TestDatabase;
  let store: Store;
  let oldDir: string;

  beforeAll(async () => {
    db = await createTestDatabase({ require: 'postgres' });
    store = await createPool({ databaseUrl: db.databaseUrl, max: 4 });
    oldDir = await mkdtemp(join(tmpdir(), 'byok-mig-'));
    const dir = fileURLToPath(DEFAULT_MIGRATIONS_DIR);
    for (const f of await readdir(dir)) if (f < '0009') await copyFile(join(dir, f), join(oldDir, f));
    await migrate(store.pool, { dir: oldDir });
  });
  afterAll(async () => {
    await store?.close();
    await db?.drop();
    await rm(oldDir, { recursive: true, force: true });
  });

  it('verifies the old rows after the migration, and detects a tampered new field', async () => {
    let prev: Uint8Array = GENESIS_HASH;
    for (let seq = 1; seq <= 3; seq++) {
      const at = new Date(Date.UTC(2026, 0, 1, 0, 0, seq));
      // The canonical form of the earlier release, written out literally (not via canonicalEvent).
      const canonical = canonicalJson({
        action: 'decrypt',
        actorRole: 'service',
        actorTokenId: 'tok_1',
        at: at.toISOString(),
        chain: 'mig',
        details: null,
        errorCode: null,
        kmsKeyRef: null,
        kmsProvider: null,
        kmsRequestId: null,
        outcome: 'success',
        purpose: null,
        requestId: `req-${seq}`,
        resource: `r/${seq}`,
        seq,
        tenantId: 'mig',
      });
      const hash = computeHash(prev, canonical);
      await store.pool.query(
        `INSERT INTO audit_events (chain, seq, at, tenant_id, actor_token_id, actor_role, action, resource, outcome, request_id, prev_hash, hash)
         VALUES ('mig', $1, $2, 'mig', 'tok_1', 'service', 'decrypt', $3, 'success', $4, $5, $6)`,
        [seq, at, `r/${seq}`, `req-${seq}`, Buffer.from(prev), hash],
      );
      prev = hash;
    }
    await store.pool.query("INSERT INTO audit_chain_heads (chain, seq, hash) VALUES ('mig', 3, $1)", [
      Buffer.from(prev),
    ]);
    // (This release reads the new columns, so it verifies only once the migration ran.)
    // 0009 and every later migration (they come after it in order).
    const applied = (await migrate(store.pool)).applied;
    expect(applied[0]).toBe('0009');
    expect(applied.every((v) => v >= '0009')).toBe(true);
    expect(await verifyChain(store.pool, 'mig')).toMatchObject({ ok: true, checked: 3 });

    const writer = createAuditWriter({ pool: store.pool });
    try {
      await writer.record({
        tenantId: 'mig',
        action: 'decrypt',
        outcome: 'success',
        requestId: 'srv-4',
        clientRequestId: 'cli-4',
        clientAddress: '203.0.113.4',
      });
    } finally {
      await writer.close();
    }
    expect(await verifyChain(store.pool, 'mig')).toMatchObject({ ok: true, checked: 4 });

    const c = await store.pool.connect();
    try {
      await c.query('SET session_replication_role = replica');
      await c.query(
        "UPDATE audit_events SET client_address = '198.51.100.9' WHERE chain = 'mig' AND seq = 4",
      );
    } finally {
      await c.query('SET session_replication_role = origin');
      c.release();
    }
    expect(await verifyChain(store.pool, 'mig')).toMatchObject({
      ok: false,
      reason: 'edited',
      firstBrokenSeq: 4,
    });
  });
});
