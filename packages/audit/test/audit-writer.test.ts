import { randomBytes } from 'node:crypto';
import { createServer, connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createPool } from '@byok/store';
import {
  AuditInputError,
  AuditUnavailableError,
  PLATFORM_CHAIN,
  createAuditWriter,
  verifyChain,
  type AuditEventInput,
} from '../src/index.js';
import { openAuditTestDb, type AuditTestDb } from './audit-db.js';

let t: AuditTestDb;

beforeAll(async () => {
  t = await openAuditTestDb();
});

afterAll(async () => {
  await t?.close();
});

const ev = (tenantId: string | undefined, i: number): AuditEventInput => ({
  tenantId,
  action: 'data.decrypt',
  outcome: 'success',
  actorTokenId: 'tok_svc',
  actorRole: 'service',
  purpose: 'billing',
  requestId: `req-${i}`,
  details: { keyVersion: 1, itemCount: i },
});

// A TCP proxy to PostgreSQL that can be killed: the database "goes away" and stays away.
async function startProxy(target: URL): Promise<{ port: number; kill(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(Number(target.port || 5432), target.hostname);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => s.destroy());
      s.on('close', () => sockets.delete(s));
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    port,
    kill: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      }),
  };
}

async function countRows(chain: string): Promise<number> {
  const { rows } = await t.store.pool.query('SELECT count(*)::int AS n FROM audit_events WHERE chain = $1', [
    chain,
  ]);
  return rows[0].n as number;
}

describe('createAuditWriter', () => {
  it('records an event that reads back with all fields and a 32-byte hash', async () => {
    const w = createAuditWriter({ pool: t.store.pool });
    const r = await w.record({
      tenantId: 'rt-1',
      action: 'kms.unwrap',
      outcome: 'failure',
      errorCode: 'KEY_REVOKED',
      kmsProvider: 'aws-kms',
      kmsKeyRef: 'arn:aws:kms:eu-west-1:111122223333:key/abc',
      kmsRequestId: 'kms-req-1',
      resource: 'tenants/rt-1/keys/1',
    });
    await w.close();
    expect(r).toMatchObject({ chain: 'rt-1', seq: 1 });
    expect(r.hash).toMatch(/^[0-9a-f]{64}$/);
    const { rows } = await t.store.pool.query('SELECT * FROM audit_events WHERE chain = $1', ['rt-1']);
    expect(rows[0]).toMatchObject({
      error_code: 'KEY_REVOKED',
      kms_request_id: 'kms-req-1',
      outcome: 'failure',
    });
    expect(Buffer.from(rows[0].hash).toString('hex')).toBe(r.hash);
    expect((await verifyChain(t.store.pool, 'rt-1')).ok).toBe(true);
  });

  it('puts events without a tenant on the _platform chain', async () => {
    const w = createAuditWriter({ pool: t.store.pool });
    const r = await w.record({ action: 'tenant.create', outcome: 'success', actorRole: 'platform-admin' });
    await w.close();
    expect(r.chain).toBe(PLATFORM_CHAIN);
    expect((await verifyChain(t.store.pool, PLATFORM_CHAIN)).ok).toBe(true);
  });

  it('keeps chains gap-free and unforked under 50 concurrent writers plus other chains', async () => {
    const w = createAuditWriter({ pool: t.store.pool, maxBatch: 64 });
    const calls: Promise<{ chain: string; seq: number }>[] = [];
    for (let round = 0; round < 6; round++) {
      for (let i = 0; i < 50; i++) calls.push(w.record(ev('conc-a', round * 50 + i)));
      for (let i = 0; i < 10; i++) calls.push(w.record(ev(i % 2 ? 'conc-b' : 'conc-c', i)));
    }
    const records = await Promise.all(calls);
    await w.close();
    const seqsA = records
      .filter((r) => r.chain === 'conc-a')
      .map((r) => r.seq)
      .sort((a, b) => a - b);
    expect(seqsA).toEqual(Array.from({ length: 300 }, (_, i) => i + 1));
    for (const chain of ['conc-a', 'conc-b', 'conc-c']) {
      const v = await verifyChain(t.store.pool, chain, { batchSize: 37 });
      expect(v).toMatchObject({ ok: true, checked: await countRows(chain) });
      expect(v.headSeq).toBe(v.checked);
    }
  });

  it('does not fork a chain written by two instances (two pools) at once', async () => {
    const other = await createPool({ databaseUrl: t.db.databaseUrl, max: 4 });
    const w1 = createAuditWriter({ pool: t.store.pool, maxBatch: 16 });
    const w2 = createAuditWriter({ pool: other.pool, maxBatch: 16 });
    try {
      const calls = Array.from({ length: 200 }, (_, i) => (i % 2 ? w1 : w2).record(ev('multi', i)));
      const records = await Promise.all(calls);
      const seqs = records.map((r) => r.seq).sort((a, b) => a - b);
      expect(seqs).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
      expect(await verifyChain(t.store.pool, 'multi')).toMatchObject({
        ok: true,
        checked: 200,
        headSeq: 200,
      });
    } finally {
      await w1.close();
      await w2.close();
      await other.close();
    }
  });

  it('appends in one round trip from its own heads, and falls back to locking when another writer moved them', async () => {
    const other = await createPool({ databaseUrl: t.db.databaseUrl, max: 2 });
    const paths: string[] = [];
    const w1 = createAuditWriter({ pool: t.store.pool, onBatch: (b) => paths.push(`w1:${b.path}`) });
    const w2 = createAuditWriter({ pool: other.pool, onBatch: (b) => paths.push(`w2:${b.path}`) });
    try {
      await w1.record(ev('optimistic', 1));
      await w1.record(ev('optimistic', 2));
      await w2.record(ev('optimistic', 3));
      const r = await w1.record(ev('optimistic', 4));
      await w1.record(ev('optimistic', 5));
      expect(paths).toEqual(['w1:locked', 'w1:checked', 'w2:locked', 'w1:locked', 'w1:checked']);
      expect(r.seq).toBe(4);
      expect(await verifyChain(t.store.pool, 'optimistic')).toMatchObject({
        ok: true,
        checked: 5,
        headSeq: 5,
      });
    } finally {
      await w1.close();
      await w2.close();
      await other.close();
    }
  });

  it('writes recordMany atomically in one chain order', async () => {
    const w = createAuditWriter({ pool: t.store.pool, maxBatch: 4 });
    const rs = await w.recordMany(Array.from({ length: 10 }, (_, i) => ev('many', i)));
    await w.close();
    expect(rs.map((r) => r.seq)).toEqual(Array.from({ length: 10 }, (_, i) => i + 1));
  });

  it('refuses malformed events with AuditInputError and writes nothing', async () => {
    const w = createAuditWriter({ pool: t.store.pool });
    const bad = { tenantId: 'inv', action: 'secret.reveal', outcome: 'success', details: { value: 'sk-x' } };
    await expect(w.record(bad as unknown as AuditEventInput)).rejects.toBeInstanceOf(AuditInputError);
    await w.close();
    expect(await countRows('inv')).toBe(0);
  });
});

describe('deferred events (outcomes nothing waits on)', () => {
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  it('never join a gating commit nor start their own before deferMs; then the timer writes them, chained after it', async () => {
    const batches: number[] = [];
    const w = createAuditWriter({
      pool: t.store.pool,
      deferMs: 150,
      onBatch: (b) => batches.push(b.events),
    });
    try {
      const queued = performance.now();
      const deferred = w.record(ev('defer-a', 1), { defer: true });
      await sleep(30);
      expect(batches).toEqual([]);
      const gating = await w.record(ev('defer-a', 2));
      expect(batches).toEqual([1]);
      const later = await deferred;
      expect(performance.now() - queued).toBeGreaterThanOrEqual(140);
      expect(batches).toEqual([1, 1]);
      expect([gating.seq, later.seq]).toEqual([1, 2]);
      expect(await verifyChain(t.store.pool, 'defer-a')).toMatchObject({ ok: true, checked: 2, headSeq: 2 });
    } finally {
      await w.close();
    }
  });

  it('once due, ride in the next gating commit instead of a transaction of their own', async () => {
    const batches: number[] = [];
    const w = createAuditWriter({
      pool: t.store.pool,
      deferMs: 20,
      onBatch: (b) => batches.push(b.events),
    });
    try {
      const deferred = w.record(ev('defer-d', 1), { defer: true });
      // Keep the event loop busy past deferMs, so the timer cannot fire before the gating event.
      const until = performance.now() + 40;
      while (performance.now() < until);
      const gating = w.record(ev('defer-d', 2));
      await Promise.all([deferred, gating]);
      expect(batches).toEqual([2]);
    } finally {
      await w.close();
    }
  });

  it('with nothing else to ride with, are written after deferMs', async () => {
    const w = createAuditWriter({ pool: t.store.pool, deferMs: 40 });
    try {
      const started = performance.now();
      const r = await w.record(ev('defer-b', 1), { defer: true });
      expect(performance.now() - started).toBeGreaterThanOrEqual(35);
      expect(r.seq).toBe(1);
      expect(await countRows('defer-b')).toBe(1);
    } finally {
      await w.close();
    }
  });

  it('are written by close(), not dropped', async () => {
    const w = createAuditWriter({ pool: t.store.pool, deferMs: 60_000 });
    const deferred = w.record(ev('defer-c', 1), { defer: true });
    await w.close();
    await expect(deferred).resolves.toMatchObject({ chain: 'defer-c', seq: 1 });
    expect(await countRows('defer-c')).toBe(1);
  });
});

describe('fail-closed', () => {
  it('rejects every event of a batch when INSERT is revoked, commits nothing, and resumes gap-free', async () => {
    const role = `byok_t_audit_${randomBytes(4).toString('hex')}`;
    const admin = t.store.pool;
    await admin.query(`CREATE ROLE ${role} LOGIN`);
    await admin.query(`GRANT SELECT, INSERT, UPDATE ON audit_events, audit_chain_heads TO ${role}`);
    const url = new URL(t.db.databaseUrl);
    url.username = role;
    const limited = await createPool({ databaseUrl: url.toString(), max: 2 });
    try {
      const w = createAuditWriter({ pool: limited.pool });
      await w.record(ev('fc', 0));
      await admin.query(`REVOKE INSERT ON audit_events FROM ${role}`);
      const results = await Promise.allSettled(
        Array.from({ length: 20 }, (_, i) => w.record(ev('fc', i + 1))),
      );
      expect(results.every((r) => r.status === 'rejected')).toBe(true);
      const reason = (results[0] as PromiseRejectedResult).reason as AuditUnavailableError;
      expect(reason).toBeInstanceOf(AuditUnavailableError);
      expect(reason.code).toBe('AUDIT_UNAVAILABLE');
      expect(await countRows('fc')).toBe(1);
      const head = await admin.query('SELECT seq FROM audit_chain_heads WHERE chain = $1', ['fc']);
      expect(Number(head.rows[0].seq)).toBe(1);

      await admin.query(`GRANT INSERT ON audit_events TO ${role}`);
      expect((await w.record(ev('fc', 99))).seq).toBe(2);
      await w.close();
      expect(await verifyChain(admin, 'fc')).toMatchObject({ ok: true, checked: 2 });
    } finally {
      await limited.close();
      await admin.query(`DROP OWNED BY ${role}`);
      await admin.query(`DROP ROLE ${role}`);
    }
  });

  it('rejects with AUDIT_UNAVAILABLE when the database goes away', async () => {
    const proxy = await startProxy(new URL(t.db.databaseUrl));
    const url = new URL(t.db.databaseUrl);
    url.port = String(proxy.port);
    const doomed = await createPool({ databaseUrl: url.toString(), max: 1, connectionTimeoutMs: 1000 });
    const w = createAuditWriter({ pool: doomed.pool });
    try {
      await w.record(ev('drop', 0));
      await proxy.kill();
      const results = await Promise.allSettled([1, 2, 3].map((i) => w.record(ev('drop', i))));
      expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected', 'rejected']);
      expect((results[0] as PromiseRejectedResult).reason).toMatchObject({ code: 'AUDIT_UNAVAILABLE' });
    } finally {
      await w.close();
      await doomed.close();
    }
    expect(await countRows('drop')).toBe(1);
  });

  it('rejects record() after close()', async () => {
    const w = createAuditWriter({ pool: t.store.pool });
    await w.close();
    await expect(w.record(ev('closed', 0))).rejects.toBeInstanceOf(AuditUnavailableError);
  });
});

describe('append-only triggers', () => {
  it('reject UPDATE, DELETE and TRUNCATE on audit_events', async () => {
    const w = createAuditWriter({ pool: t.store.pool });
    await w.record(ev('trg', 0));
    await w.close();
    const q = (sql: string) => t.store.pool.query(sql);
    await expect(q("UPDATE audit_events SET purpose = 'x' WHERE chain = 'trg'")).rejects.toMatchObject({
      code: '42501',
    });
    await expect(q("DELETE FROM audit_events WHERE chain = 'trg'")).rejects.toMatchObject({ code: '42501' });
    await expect(q('TRUNCATE audit_events')).rejects.toMatchObject({ code: '42501' });
    await expect(q("DELETE FROM audit_chain_heads WHERE chain = 'trg'")).rejects.toMatchObject({
      code: '42501',
    });
    await expect(q("UPDATE audit_chain_heads SET seq = 0 WHERE chain = 'trg'")).rejects.toMatchObject({
      code: '42501',
    });
    expect(await countRows('trg')).toBe(1);
  });
});
