import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createTestDatabase, type TestDatabase } from '@byok/store/testing';
import { sql } from './acceptance-helpers.js';
import { startTestService, type Reply, type TestService } from './harness.js';

// Concurrent writes to one resource, on a real PostgreSQL (several connections, so the requests
// really overlap inside the database). Each race is run many times: one overlap in a few is
// enough for the old code to lose a version or answer 500, so a single attempt would prove little.

const value = (tag: string) => `sk-ant-api03-race-${tag}-abcdefghijklmnopqrst`;

/** Statuses a racing write may get: success, or a clean 409 the caller can retry. */
function expectCleanOutcome(r: Reply, allowed: number[]): void {
  const ctx = `${r.status} ${r.text}`;
  expect({ ctx, ok: allowed.includes(r.status) }).toEqual({ ctx, ok: true });
  if (r.status === 409) {
    expect(r.body.code).toBe('CONFLICT');
    // The service's own words: a database message would name tables and constraints.
    expect(r.body.detail ?? '').not.toMatch(/constraint|duplicate key|violates/i);
  }
}

describe('races on one secret, one tenant key (real PostgreSQL)', () => {
  let db: TestDatabase;
  let s: TestService;
  let t: Awaited<ReturnType<TestService['tenant']>>;

  beforeAll(async () => {
    db = await createTestDatabase({ require: 'postgres' });
    s = await startTestService({ sharedDb: db, env: { JOB_POLL_MS: '20', ROTATION_BATCH_SIZE: '5' } });
    t = await s.tenant('race');
  });
  afterAll(async () => {
    await s?.close();
    await db?.drop();
  });

  const put = (name: string, v: string) =>
    s.call('PUT', `/v1/tenants/race/secrets/${name}`, {
      token: t.service,
      body: { kind: 'anthropic', value: v },
    });
  const reveal = (name: string, version?: number) =>
    s.call('POST', `/v1/tenants/race/secrets/${name}/reveal`, {
      token: t.service,
      body: version === undefined ? {} : { version },
    });

  it('concurrent first PUTs of one secret: distinct versions 1..n or 409 CONFLICT, never a 500, nothing lost', async () => {
    const ITERATIONS = 40;
    const WRITERS = 4;
    let conflicts = 0;
    for (let i = 0; i < ITERATIONS; i++) {
      const name = `first-${i}`;
      const replies = await Promise.all(
        Array.from({ length: WRITERS }, (_, w) => put(name, value(`${i}-${w}`))),
      );
      for (const r of replies) expectCleanOutcome(r, [200, 201, 409]);
      const ok = replies.map((r, w) => ({ r, w })).filter(({ r }) => r.status < 300);
      conflicts += WRITERS - ok.length;
      // At least one writer wins, exactly one created the secret, and every winner has its own version.
      expect(ok.length).toBeGreaterThanOrEqual(1);
      expect(ok.filter(({ r }) => r.status === 201)).toHaveLength(1);
      const versions = ok.map(({ r }) => r.body.version as number).sort((a, b) => a - b);
      expect(versions).toEqual(Array.from({ length: ok.length }, (_, k) => k + 1));
      // Every acknowledged version is stored and reads back as what its writer sent.
      const rows = await sql<{ version: number }>(
        s,
        'SELECT version FROM secret_versions WHERE tenant_id = $1 AND name = $2 ORDER BY version',
        ['race', name],
      );
      expect(rows.map((x) => x.version)).toEqual(versions);
      for (const { r, w } of ok) {
        const back = await reveal(name, r.body.version as number);
        expect(back.status).toBe(200);
        expect(back.body.value).toBe(value(`${i}-${w}`));
      }
    }
    // Shown so a reader can see the race was real (losers exist) without asserting a rate.
    process.stderr.write(`[races] first PUTs: ${ITERATIONS}x${WRITERS}, ${conflicts} answered 409\n`);
  });

  it('PUT racing DELETE of one secret: each gets a clean answer, and what is stored stays whole', async () => {
    for (let i = 0; i < 25; i++) {
      const name = `del-${i}`;
      expect((await put(name, value(`${i}-seed`))).status).toBe(201);
      const [a, del, b] = await Promise.all([
        put(name, value(`${i}-a`)),
        s.call('DELETE', `/v1/tenants/race/secrets/${name}`, { token: t.service }),
        put(name, value(`${i}-b`)),
      ]);
      expectCleanOutcome(a as Reply, [200, 201, 409]);
      expectCleanOutcome(b as Reply, [200, 201, 409]);
      expect([204, 404]).toContain(del.status);
      // No secret row without its current version, no version without its secret row.
      const broken = await sql(
        s,
        `SELECT s.name FROM secrets s LEFT JOIN secret_versions v
           ON v.tenant_id = s.tenant_id AND v.name = s.name AND v.version = s.current_version
         WHERE s.tenant_id = 'race' AND v.version IS NULL`,
      );
      expect(broken).toEqual([]);
      // If it still exists, its current version opens and is one of the values written.
      const current = await reveal(name);
      if (current.status === 200) {
        expect([value(`${i}-seed`), value(`${i}-a`), value(`${i}-b`)]).toContain(current.body.value);
      } else {
        expect(current.status).toBe(404);
        expect(del.status).toBe(204);
      }
    }
  });

  it('PUTs racing the rotation job: every acknowledged version reads back, and a later job moves them all', async () => {
    const written: { name: string; version: number; value: string }[] = [];
    for (let i = 0; i < 12; i++) {
      const r = await put(`rot-${i}`, value(`rot-${i}-0`));
      expect(r.status).toBe(201);
      written.push({ name: `rot-${i}`, version: 1, value: value(`rot-${i}-0`) });
    }
    for (let round = 1; round <= 4; round++) {
      const writes = Array.from({ length: 12 }, (_, i) => ({
        name: `rot-${i}`,
        value: value(`rot-${i}-${round}`),
      }));
      const [rotated, ...replies] = await Promise.all([
        s.call('POST', '/v1/tenants/race/tenant-key/rotate', { token: t.admin }),
        ...writes.map((w) => put(w.name, w.value)),
      ]);
      expectCleanOutcome(rotated as Reply, [202, 409]);
      replies.forEach((r, k) => {
        expectCleanOutcome(r, [200, 409]);
        if (r.status === 200) written.push({ ...writes[k]!, version: r.body.version as number });
      });
    }
    // One more rotation with nothing racing it; when its job succeeds, no row is left behind.
    const last = await s.call('POST', '/v1/tenants/race/tenant-key/rotate', { token: t.admin });
    expect(last.status).toBe(202);
    const deadline = Date.now() + 30_000;
    for (;;) {
      const j = await s.call('GET', `/v1/tenants/race/jobs/${last.body.jobId as string}`, { token: t.admin });
      expect(j.status).toBe(200);
      if (j.body.state === 'succeeded') break;
      expect(['pending', 'running']).toContain(j.body.state);
      if (Date.now() > deadline) throw new Error(`job did not finish: ${j.text}`);
      await new Promise((r) => setTimeout(r, 25));
    }
    const behind = await sql(
      s,
      `SELECT name, version, tk_version FROM secret_versions WHERE tenant_id = 'race' AND name LIKE 'rot-%' AND tk_version < $1`,
      [last.body.version],
    );
    expect(behind).toEqual([]);
    for (const w of written) {
      const back = await reveal(w.name, w.version);
      expect({ w, status: back.status, value: back.body?.value }).toEqual({ w, status: 200, value: w.value });
    }
  });
});

describe("races on one tenant's CMK (real PostgreSQL)", () => {
  let db: TestDatabase;
  let s: TestService;

  beforeAll(async () => {
    db = await createTestDatabase({ require: 'postgres' });
    s = await startTestService({ sharedDb: db, env: { JOB_POLL_MS: '20' } });
  });
  afterAll(async () => {
    await s?.close();
    await db?.drop();
  });

  const localKey = async (name: string) => {
    const r = await s.call('POST', '/v1/dev/local-kms/keys', { token: s.adminToken, body: { name } });
    expect(r.status).toBe(201);
    return `local:${name}`;
  };
  const putCmk = (tenant: string, token: string, keyRef: string) =>
    s.call('PUT', `/v1/tenants/${tenant}/cmk`, { token, body: { provider: 'local', keyRef } });

  /** Every live tenant-key version is wrapped by the CMK the tenant has registered, and data opens. */
  const expectConsistent = async (tenant: string, svc: string, probes: { ct: string; pt: string }[]) => {
    const cmk = await sql<{ key_ref: string }>(s, 'SELECT key_ref FROM tenant_cmk WHERE tenant_id = $1', [
      tenant,
    ]);
    const keys = await sql<{ version: number; cmk_key_ref: string }>(
      s,
      `SELECT version, cmk_key_ref FROM tenant_keys WHERE tenant_id = $1 AND state <> 'destroyed' ORDER BY version`,
      [tenant],
    );
    expect(keys.filter((k) => k.cmk_key_ref !== cmk[0]?.key_ref)).toEqual([]);
    for (const p of probes) {
      const r = await s.call('POST', `/v1/tenants/${tenant}/decrypt`, {
        token: svc,
        body: { ciphertext: p.ct },
      });
      expect({ status: r.status, plaintext: r.body?.plaintext }).toEqual({ status: 200, plaintext: p.pt });
    }
    return cmk[0]?.key_ref;
  };

  it('two concurrent CMK changes: one wins, the other 409 CONFLICT; the keys follow the winner', async () => {
    const t = await s.tenant('cmk-two');
    const pt = Buffer.from('cmk race').toString('base64');
    const enc = await s.call('POST', '/v1/tenants/cmk-two/encrypt', {
      token: t.service,
      body: { plaintext: pt },
    });
    const probes = [{ ct: enc.body.ciphertext as string, pt }];
    let overlapped = 0;
    for (let i = 0; i < 12; i++) {
      const [ka, kb] = [await localKey(`cmk-two-a${i}`), await localKey(`cmk-two-b${i}`)];
      const [a, b] = await Promise.all([putCmk('cmk-two', t.admin, ka), putCmk('cmk-two', t.admin, kb)]);
      expectCleanOutcome(a, [200, 409]);
      expectCleanOutcome(b, [200, 409]);
      expect(a.status === 200 || b.status === 200).toBe(true);
      if (a.status === 409 || b.status === 409) overlapped++;
      const now = await expectConsistent('cmk-two', t.service, probes);
      if (a.status !== b.status) expect(now).toBe(a.status === 200 ? ka : kb);
    }
    // Both started together every time: if no change was ever refused, the two never conflicted.
    expect(overlapped).toBeGreaterThan(0);
  });

  it('two concurrent first registrations of a CMK: one tenant key v1, wrapped by the CMK that won', async () => {
    for (let i = 0; i < 8; i++) {
      const id = `cmk-first-${i}`;
      const created = await s.call('POST', '/v1/tenants', { token: s.adminToken, body: { id, name: id } });
      expect(created.status).toBe(201);
      const issued = await s.call('POST', '/v1/tokens', {
        token: s.adminToken,
        body: { name: `${id} admin`, role: 'tenant-admin', tenantId: id },
      });
      const admin = issued.body.token as string;
      const [ka, kb] = [await localKey(`${id}-a`), await localKey(`${id}-b`)];
      const [a, b] = await Promise.all([putCmk(id, admin, ka), putCmk(id, admin, kb)]);
      expectCleanOutcome(a, [200, 409]);
      expectCleanOutcome(b, [200, 409]);
      expect(a.status === 200 || b.status === 200).toBe(true);
      const keys = await sql<{ version: number }>(s, 'SELECT version FROM tenant_keys WHERE tenant_id = $1', [
        id,
      ]);
      expect(keys.map((k) => k.version)).toEqual([1]);
      const svc = await s.call('POST', '/v1/tokens', {
        token: s.adminToken,
        body: { name: `${id} svc`, role: 'service', tenantId: id },
      });
      const pt = Buffer.from(id).toString('base64');
      const enc = await s.call('POST', `/v1/tenants/${id}/encrypt`, {
        token: svc.body.token,
        body: { plaintext: pt },
      });
      expect(enc.status).toBe(200);
      await expectConsistent(id, svc.body.token as string, [{ ct: enc.body.ciphertext as string, pt }]);
    }
  });

  it('a rotation during a CMK change never leaves a tenant-key version under the old CMK', async () => {
    const t = await s.tenant('cmk-rot');
    const probes: { ct: string; pt: string }[] = [];
    for (let i = 0; i < 15; i++) {
      const pt = Buffer.from(`rot ${i}`).toString('base64');
      const enc = await s.call('POST', '/v1/tenants/cmk-rot/encrypt', {
        token: t.service,
        body: { plaintext: pt },
      });
      expect(enc.status).toBe(200);
      probes.push({ ct: enc.body.ciphertext as string, pt });
      const next = await localKey(`cmk-rot-${i}`);
      const [change, rotate] = await Promise.all([
        putCmk('cmk-rot', t.admin, next),
        s.call('POST', '/v1/tenants/cmk-rot/tenant-key/rotate', { token: t.admin }),
      ]);
      expectCleanOutcome(change, [200, 409]);
      expectCleanOutcome(rotate, [202, 409]);
      await expectConsistent('cmk-rot', t.service, probes);
    }
  });
});
