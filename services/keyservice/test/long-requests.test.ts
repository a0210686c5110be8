import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { connect, type Socket } from 'node:net';
import { b64, sql } from './acceptance-helpers.js';
import { startTestService, type TestService } from './harness.js';

/** Opens an export and reads only its first chunk (status and headers), then stops reading. */
function slowExport(
  url: string,
  tenantId: string,
  token: string,
): Promise<{ status: number; socket: Socket }> {
  const { port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), '127.0.0.1');
    socket.on('error', () => undefined);
    socket.once('data', (chunk: Buffer) => {
      socket.pause();
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(chunk.toString('latin1'))?.[1]), socket });
    });
    socket.once('close', () => reject(new Error('closed before any answer')));
    socket.write(
      `GET /v1/audit/export?tenantId=${tenantId}&format=ndjson HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\n\r\n`,
    );
  });
}

/** Long requests cannot exhaust the pool: exports are capped per tenant and end by a deadline. */
describe('long requests', () => {
  let s: TestService;
  const DEADLINE_MS = 4000;

  beforeAll(async () => {
    s = await startTestService({
      env: {
        HEALTH_PROBE_INTERVAL_SECONDS: '0',
        AUDIT_EXPORT_DEADLINE_MS: String(DEADLINE_MS),
        DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS: '1500',
      },
    });
  });
  afterAll(async () => {
    await s?.close();
  });

  it('pool sessions end a transaction left idle past idle_in_transaction_session_timeout', async () => {
    const client = await s.service.store.pool.connect();
    client.on('error', () => undefined);
    try {
      expect((await client.query('SHOW idle_in_transaction_session_timeout')).rows[0]).toEqual({
        idle_in_transaction_session_timeout: '1500ms',
      });
      await client.query('BEGIN');
      await new Promise((r) => setTimeout(r, 2500));
      await expect(client.query('SELECT 1')).rejects.toThrow();
    } finally {
      client.release(true);
    }
  });

  it("30 slow export readers of one tenant: another tenant's decrypts keep succeeding, none AUDIT_UNAVAILABLE", async () => {
    const slow = await s.tenant('lr-slow');
    const busy = await s.tenant('lr-busy');
    // A chain far larger than the socket buffers, so a reader that stops reading blocks the export.
    // Rows go far past the head's seq: the tenant's own appends stay valid.
    await sql(
      s,
      `INSERT INTO audit_events (chain, seq, tenant_id, at, action, outcome, details, prev_hash, hash)
       SELECT 'lr-slow', 1000000 + g, 'lr-slow', now(), 'decrypt', 'success',
              jsonb_build_object('reason', repeat('x', 1000)), decode(repeat('00', 32), 'hex'), decode(repeat('00', 32), 'hex')
       FROM generate_series(1, 30000) g`,
    );
    const enc = await s.call('POST', '/v1/tenants/lr-busy/encrypt', {
      token: busy.service,
      body: { plaintext: b64('busy') },
    });
    expect(enc.status).toBe(200);

    const readers = await Promise.all(
      Array.from({ length: 30 }, () => slowExport(s.url, 'lr-slow', slow.admin)),
    );
    const statuses = readers.map((r) => r.status);
    expect(statuses.filter((x) => x === 200)).toHaveLength(2);
    expect(statuses.filter((x) => x === 429)).toHaveLength(28);
    // Each refusal is audited in the tenant's chain, like other refusals.
    const refused = await sql<{ n: number }>(
      s,
      `SELECT count(*)::int AS n FROM audit_events WHERE tenant_id = 'lr-slow' AND action = 'audit.export'
          AND outcome = 'denied' AND error_code = 'EXPORT_BUSY'`,
    );
    expect(refused[0]?.n).toBe(28);

    // While the two admitted exports are stuck on their readers, the other tenant works normally.
    const results: { status: number; code?: string; ms: number }[] = [];
    const until = Date.now() + DEADLINE_MS + 1000;
    while (Date.now() < until) {
      const t0 = Date.now();
      const r = await Promise.all(
        Array.from({ length: 10 }, () =>
          s.call('POST', '/v1/tenants/lr-busy/decrypt', {
            token: busy.service,
            body: { ciphertext: enc.body.ciphertext },
          }),
        ),
      );
      for (const x of r) results.push({ status: x.status, code: x.body?.code, ms: Date.now() - t0 });
    }
    expect(results.length).toBeGreaterThan(50);
    expect(results.filter((r) => r.status !== 200)).toEqual([]);
    // A decrypt that had to wait for a stuck export's connection would take the export deadline;
    // the bound is that deadline (not a speed claim: a loaded CI machine is slow but never that slow).
    expect(Math.max(...results.map((r) => r.ms))).toBeLessThan(DEADLINE_MS);

    // The deadline ended the stuck exports: their connections are back, and a new export is admitted.
    const waiting = await sql<{ n: number }>(
      s,
      `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND state = 'idle in transaction'`,
    );
    expect(waiting[0]?.n).toBe(0);
    const again = await slowExport(s.url, 'lr-slow', slow.admin);
    expect(again.status).toBe(200);
    for (const r of [...readers, again]) r.socket.destroy();
  }, 30000);
});
