import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { canonicalEvent, computeHash, createAuditWriter, queryEvents, type AuditWriter } from '@byok/audit';
import { createPool, type Store } from '@byok/store';
import { runAuditVerify } from '../src/cli/audit-verify-command.js';
import { startTestService, type TestService } from './harness.js';
import { describeOnRealPostgres } from '../../../test/support/real-postgres.js';

const run = promisify(execFile);

const SUITE = 'audit tamper detection: server-side verifier and offline CLI (real PostgreSQL)';
describeOnRealPostgres(SUITE, () => {
  let s: TestService;
  let store: Store;
  let writer: AuditWriter;
  let keyFile: string;

  beforeAll(async () => {
    s = await startTestService({ env: { AUDIT_CHECKPOINT_INTERVAL_SECONDS: '0' } });
    store = await createPool({ databaseUrl: s.db.databaseUrl, max: 4 });
    writer = createAuditWriter({ pool: store.pool });
    const pk = await s.call('GET', '/v1/audit/public-key', { token: s.adminToken });
    expect(pk.status).toBe(200);
    expect(pk.body.algorithm).toBe('Ed25519');
    keyFile = join(s.dataDir, 'audit-public.pem');
    await writeFile(keyFile, pk.body.publicKeyPem as string);
  });
  afterAll(async () => {
    await writer?.close();
    await store?.close();
    await s?.close();
  });

  /**
   * Chain `chain` with test events 1..4, the audited checkpoint request at 5 (signed checkpoint at 5,
   * covering its own `audit.checkpoint` event), test events 6..9, and the second at 10.
   */
  async function seedChain(chain: string): Promise<void> {
    const ev = (i: number) => ({
      tenantId: chain,
      action: 'test.event',
      outcome: 'success' as const,
      resource: `r/${i}`,
    });
    for (let i = 1; i <= 4; i++) await writer.record(ev(i));
    const cp4 = await s.call('POST', '/v1/audit/checkpoints', {
      token: s.adminToken,
      body: { tenantId: chain },
    });
    expect(cp4.status).toBe(201);
    expect(cp4.body.checkpoint).toMatchObject({ chain, seq: 5 });
    for (let i = 5; i <= 8; i++) await writer.record(ev(i));
    const cp8 = await s.call('POST', '/v1/audit/checkpoints', {
      token: s.adminToken,
      body: { tenantId: chain },
    });
    expect(cp8.body.checkpoint).toMatchObject({ chain, seq: 10 });
  }

  async function asSuperuser(fn: (q: (sql: string, p?: unknown[]) => Promise<unknown>) => Promise<unknown>) {
    const c = await store.pool.connect();
    try {
      await c.query('SET session_replication_role = replica');
      await fn((sql, p) => c.query(sql, p));
    } finally {
      await c.query('SET session_replication_role = origin');
      c.release();
    }
  }

  async function serverVerify(chain: string) {
    const r = await s.call('GET', `/v1/audit/verify?tenantId=${chain}`, { token: s.adminToken });
    expect(r.status).toBe(200);
    return r.body as { ok: boolean; firstBrokenSeq?: number; reason?: string };
  }

  async function offlineVerify(chain: string) {
    const exp = await s.call('GET', `/v1/audit/export?tenantId=${chain}&format=ndjson`, {
      token: s.adminToken,
    });
    expect(exp.status).toBe(200);
    expect(exp.headers.get('content-type')).toContain('application/x-ndjson');
    const file = join(s.dataDir, `${chain}.ndjson`);
    await writeFile(file, exp.text);
    const out: string[] = [];
    const code = await runAuditVerify([file, '--public-key', keyFile, '--json'], {
      out: (l) => out.push(l),
      err: (l) => out.push(l),
    });
    return { code, result: JSON.parse(out[out.length - 1] as string), file, text: exp.text };
  }

  it('verifies an untouched chain both ways, and the export ends with the latest checkpoint', async () => {
    await seedChain('tp-clean');
    expect(await serverVerify('tp-clean')).toMatchObject({
      ok: true,
      checkpointsVerified: 2,
      checkpointSeq: 10,
    });
    const { code, result, text } = await offlineVerify('tp-clean');
    expect(result).toMatchObject({ ok: true, checked: 10, checkpointsVerified: 3, checkpointSeq: 10 });
    expect(code).toBe(0);
    const lines = text
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines[0]).toMatchObject({ type: 'header', format: 'byok-audit-export', chain: 'tp-clean' });
    expect(lines[lines.length - 1]).toMatchObject({ type: 'checkpoint', seq: 10 });
    expect(lines.filter((l) => l.type === 'event').map((l) => l.seq)).toEqual([
      1, 2, 3, 4, 5, 6, 7, 8, 9, 10,
    ]);
    expect(
      lines.filter((l) => l.type === 'event' && l.action === 'audit.checkpoint').map((l) => l.seq),
    ).toEqual([5, 10]);
  });

  it('detects an edited field (seq 6)', async () => {
    await seedChain('tp-edit');
    await asSuperuser((q) =>
      q("UPDATE audit_events SET resource = 'r/forged' WHERE chain = 'tp-edit' AND seq = 6"),
    );
    expect(await serverVerify('tp-edit')).toMatchObject({ ok: false, reason: 'edited', firstBrokenSeq: 6 });
    const { code, result } = await offlineVerify('tp-edit');
    expect(result).toMatchObject({ ok: false, reason: 'edited', firstBrokenSeq: 6 });
    expect(code).toBe(1);
  });

  it('detects a deleted middle row (seq 5)', async () => {
    await seedChain('tp-delete');
    await asSuperuser((q) => q("DELETE FROM audit_events WHERE chain = 'tp-delete' AND seq = 5"));
    expect(await serverVerify('tp-delete')).toMatchObject({
      ok: false,
      reason: 'deleted',
      firstBrokenSeq: 5,
    });
    const { code, result } = await offlineVerify('tp-delete');
    expect(result).toMatchObject({ ok: false, reason: 'deleted', firstBrokenSeq: 5 });
    expect(code).toBe(1);
  });

  it('detects two swapped rows (seq 6 and 7)', async () => {
    await seedChain('tp-swap');
    await asSuperuser(async (q) => {
      await q("UPDATE audit_events SET seq = 1000 WHERE chain = 'tp-swap' AND seq = 6");
      await q("UPDATE audit_events SET seq = 6 WHERE chain = 'tp-swap' AND seq = 7");
      await q("UPDATE audit_events SET seq = 7 WHERE chain = 'tp-swap' AND seq = 1000");
    });
    expect(await serverVerify('tp-swap')).toMatchObject({
      ok: false,
      reason: 'reordered',
      firstBrokenSeq: 6,
    });
    const { code, result } = await offlineVerify('tp-swap');
    expect(result).toMatchObject({ ok: false, reason: 'reordered', firstBrokenSeq: 6 });
    expect(code).toBe(1);
  });

  it('detects a truncated tail with a rewound head, only thanks to the signed checkpoint', async () => {
    await seedChain('tp-trunc');
    await asSuperuser(async (q) => {
      await q("DELETE FROM audit_events WHERE chain = 'tp-trunc' AND seq > 6");
      await q(
        `UPDATE audit_chain_heads SET seq = 6,
           hash = (SELECT hash FROM audit_events WHERE chain = 'tp-trunc' AND seq = 6) WHERE chain = 'tp-trunc'`,
      );
    });
    expect(await serverVerify('tp-trunc')).toMatchObject({
      ok: false,
      reason: 'truncated',
      firstBrokenSeq: 7,
    });
    const { code, result } = await offlineVerify('tp-trunc');
    expect(result).toMatchObject({ ok: false, reason: 'truncated', firstBrokenSeq: 7, lastSeq: 6 });
    expect(code).toBe(1);
  });

  it('detects a table rewritten and re-hashed consistently (head included) against the checkpoints', async () => {
    await seedChain('tp-rehash');
    const { events } = await queryEvents(store.pool, { chain: 'tp-rehash' }, null, 500);
    await asSuperuser(async (q) => {
      let prev: Buffer = Buffer.from((events[4] as { hash: string }).hash, 'hex');
      for (const e of events.slice(5)) {
        const forged = { ...e, resource: e.seq === 6 ? 'r/forged' : e.resource };
        const hash = computeHash(prev, canonicalEvent(forged));
        await q(
          "UPDATE audit_events SET resource = $2, prev_hash = $3, hash = $4 WHERE chain = 'tp-rehash' AND seq = $1",
          [e.seq, forged.resource, prev, hash],
        );
        prev = hash;
      }
      await q("UPDATE audit_chain_heads SET hash = $1 WHERE chain = 'tp-rehash'", [prev]);
    });
    // The chain alone is consistent again; only the checkpoint at seq 10 exposes it.
    const server = await serverVerify('tp-rehash');
    expect(server).toMatchObject({
      ok: false,
      reason: 'checkpoint-mismatch',
      firstBrokenSeq: 6,
      checkpointSeq: 5,
    });
    const { code, result, file } = await offlineVerify('tp-rehash');
    expect(result).toMatchObject({
      ok: false,
      reason: 'checkpoint-mismatch',
      firstBrokenSeq: 6,
      checked: 10,
    });
    expect(code).toBe(1);

    // The real command line, as a security team runs it: exit code 1 and the first bad seq.
    const cli = fileURLToPath(new URL('../src/cli/byok.ts', import.meta.url));
    const bad = await run('npx', ['tsx', cli, 'audit', 'verify', file, '--public-key', keyFile]).catch(
      (e: { code: number; stdout: string }) => e,
    );
    expect((bad as { code: number }).code).toBe(1);
    expect((bad as { stdout: string }).stdout).toContain('first bad seq 6 (checkpoint-mismatch)');
  });

  it('refuses to sign a checkpoint over a tampered chain', async () => {
    await seedChain('tp-nosign');
    await writer.record({ tenantId: 'tp-nosign', action: 'test.event', outcome: 'success' });
    await asSuperuser((q) =>
      q("UPDATE audit_events SET resource = 'x' WHERE chain = 'tp-nosign' AND seq = 11"),
    );
    const r = await s.call('POST', '/v1/audit/checkpoints', {
      token: s.adminToken,
      body: { tenantId: 'tp-nosign' },
    });
    expect(r.status).toBe(409);
    expect(r.body.refused).toEqual({ firstBrokenSeq: 11, reason: 'edited' });
  });

  it('rejects a forged checkpoint signature offline', async () => {
    await seedChain('tp-forge');
    const { text } = await offlineVerify('tp-forge');
    // Change the first base64 character of every signature to a different one (never to itself:
    // 'A' would leave one signature in 64 intact), which changes the signature's first byte.
    const forged = text.replace(
      /"signature":"([A-Za-z0-9+/])/g,
      (_m, c: string) => `"signature":"${c === 'A' ? 'B' : 'A'}`,
    );
    expect(forged).not.toBe(text);
    const file = join(s.dataDir, 'forged.ndjson');
    await writeFile(file, forged);
    const out: string[] = [];
    const code = await runAuditVerify([file, '--public-key', keyFile, '--json'], {
      out: (l) => out.push(l),
      err: (l) => out.push(l),
    });
    expect(code).toBe(1);
    expect(JSON.parse(out[0] as string)).toMatchObject({
      ok: false,
      reason: 'bad-checkpoint-signature',
      firstBrokenSeq: 5,
    });
  });

  it('refuses an auditor of another tenant (and audits the denial)', async () => {
    const t = await s.tenant('tp-own');
    const r = await s.call('GET', '/v1/audit/export?tenantId=tp-clean', { token: t.auditor });
    expect(r.status).toBe(403);
    const v = await s.call('POST', '/v1/audit/checkpoints', {
      token: t.auditor,
      body: { tenantId: 'tp-clean' },
    });
    expect(v.status).toBe(403);
  });
});
