import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { createLocalKmsProvider, KmsError, MemoryLocalKeyStore, type KmsProvider } from '@byok/kms';
import { createPool, jobRepository, migrate, type Store } from '@byok/store';
import { createTestDatabase, type TestDatabase } from '@byok/store/testing';
import { startTestService, type TestService } from './harness.js';
import { describeOnRealPostgres } from '../../../test/support/real-postgres.js';

// Tenant-key rotation against real PostgreSQL: the job re-encrypts every stored secret version to
// the new key, keeps values and fingerprints right, audits per batch, and retire is guarded.

const value = (i: number) => `sk-ant-api03-rotation-${String(i).padStart(4, '0')}-abcdefghijklmnop`;

async function waitForJob(
  ts: TestService,
  tenant: string,
  token: string,
  jobId: string,
  until: (job: { state: string; lastError: string | null }) => boolean,
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
): Promise<any> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const r = await ts.call('GET', `/v1/tenants/${tenant}/jobs/${jobId}`, { token });
    expect(r.status).toBe(200);
    if (until(r.body)) return r.body;
    if (Date.now() > deadline) throw new Error(`job did not reach the expected state: ${r.text}`);
    await new Promise((res) => setTimeout(res, 25));
  }
}

describeOnRealPostgres('tenant-key rotation and re-encryption job (real PostgreSQL)', () => {
  let ts: TestService;
  let pool: pg.Pool;

  beforeAll(async () => {
    ts = await startTestService({ env: { JOB_POLL_MS: '50', ROTATION_BATCH_SIZE: '7' } });
    pool = new pg.Pool({ connectionString: ts.db.databaseUrl, max: 2 });
  });
  afterAll(async () => {
    await pool?.end();
    await ts?.close();
  });

  it('re-encrypts every secret version to the new key; values, counts and fingerprints stay right', async () => {
    const t = await ts.tenant('rot-a');
    for (let i = 0; i < 20; i++) {
      const r = await ts.call('PUT', `/v1/tenants/rot-a/secrets/key-${i}`, {
        token: t.service,
        body: { kind: 'anthropic', value: value(i) },
      });
      expect(r.status).toBe(201);
    }
    // Second versions for a few, so several versions per secret move too.
    for (let i = 0; i < 5; i++) {
      await ts.call('PUT', `/v1/tenants/rot-a/secrets/key-${i}`, {
        token: t.service,
        body: { kind: 'anthropic', value: value(100 + i) },
      });
    }
    const before = await pool.query(
      `SELECT name, version, ciphertext FROM secret_versions WHERE tenant_id = 'rot-a' ORDER BY name, version`,
    );
    expect(before.rows).toHaveLength(25);

    const rot = await ts.call('POST', '/v1/tenants/rot-a/tenant-key/rotate', { token: t.admin });
    expect(rot.status).toBe(202);
    expect(rot.body).toEqual({ version: 2, jobId: expect.stringMatching(/^job_[0-9a-f]{24}$/) });
    expect(rot.headers.get('location')).toBe(`/v1/tenants/rot-a/jobs/${rot.body.jobId}`);

    const job = await waitForJob(ts, 'rot-a', t.admin, rot.body.jobId, (j) => j.state === 'succeeded');
    expect(job).toMatchObject({
      id: rot.body.jobId,
      kind: 'tenant-key.reencrypt',
      state: 'succeeded',
      done: 25,
      total: 25,
      errors: 0,
      lastError: null,
      targetVersion: 2,
    });
    expect(job.rate).toBeGreaterThan(0);
    expect(Date.parse(job.startedAt)).toBeLessThanOrEqual(Date.parse(job.updatedAt));

    const after = await pool.query(
      `SELECT name, version, ciphertext, tk_version FROM secret_versions WHERE tenant_id = 'rot-a' ORDER BY name, version`,
    );
    expect(after.rows).toHaveLength(25);
    expect(after.rows.every((r) => r.tk_version === 2)).toBe(true);
    // Every ciphertext was replaced (fresh salt and IV), none lost.
    after.rows.forEach((r, i) => expect(Buffer.compare(r.ciphertext, before.rows[i].ciphertext)).not.toBe(0));

    for (let i = 0; i < 20; i++) {
      const cur = await ts.call('POST', `/v1/tenants/rot-a/secrets/key-${i}/reveal`, {
        token: t.service,
        body: {},
      });
      expect(cur.body.value).toBe(i < 5 ? value(100 + i) : value(i));
      if (i < 5) {
        const v1 = await ts.call('POST', `/v1/tenants/rot-a/secrets/key-${i}/reveal`, {
          token: t.service,
          body: { version: 1 },
        });
        expect(v1.body).toEqual({ value: value(i), version: 1 });
      }
    }

    // Fingerprints were recomputed under the new key: storing the same value again matches.
    const old = (await ts.call('GET', '/v1/tenants/rot-a/secrets/key-10', { token: t.service })).body;
    await ts.call('PUT', '/v1/tenants/rot-a/secrets/key-10-copy', {
      token: t.service,
      body: { kind: 'anthropic', value: value(10) },
    });
    const copy = (await ts.call('GET', '/v1/tenants/rot-a/secrets/key-10-copy', { token: t.service })).body;
    expect(copy.fingerprint).toBe(old.fingerprint);

    // One audit event per batch of 7: 25 rows -> 4 batches, each naming the key version.
    const audit = await pool.query(
      `SELECT outcome, details FROM audit_events WHERE tenant_id = 'rot-a' AND action = 'tenant-key.reencrypt'`,
    );
    expect(audit.rows).toHaveLength(4);
    expect(audit.rows.map((r) => r.details.itemCount).sort()).toEqual([4, 7, 7, 7]);
    expect(audit.rows.every((r) => r.outcome === 'success' && r.details.keyVersion === 2)).toBe(true);

    // New writes use the new key.
    const enc = await ts.call('POST', '/v1/tenants/rot-a/encrypt', {
      token: t.service,
      body: { plaintext: Buffer.from('x').toString('base64') },
    });
    expect(enc.body.keyVersion).toBe(2);
  });

  it("lets only the tenant's admin rotate (not the platform admin), and shows a job only to its own tenant", async () => {
    const a = await ts.tenant('rot-b');
    const other = await ts.tenant('rot-c');
    expect((await ts.call('POST', '/v1/tenants/rot-b/tenant-key/rotate', { token: a.service })).status).toBe(
      403,
    );
    expect(
      (await ts.call('POST', '/v1/tenants/rot-b/tenant-key/rotate', { token: other.admin })).status,
    ).toBe(403);
    expect(
      (
        await ts.call('POST', '/v1/tenants/rot-b/tenant-key/retire', {
          token: other.admin,
          body: { minVersion: 1 },
        })
      ).status,
    ).toBe(403);
    expect(
      (await ts.call('POST', '/v1/tenants/rot-b/tenant-key/rotate', { token: ts.adminToken })).status,
    ).toBe(403);
    const rot = await ts.call('POST', '/v1/tenants/rot-b/tenant-key/rotate', { token: a.admin });
    expect(rot.status).toBe(202);
    expect(rot.body.version).toBe(2);
    expect(
      (await ts.call('GET', `/v1/tenants/rot-b/jobs/${rot.body.jobId}`, { token: other.admin })).status,
    ).toBe(403);
    const foreign = await ts.call('GET', `/v1/tenants/rot-c/jobs/${rot.body.jobId}`, { token: other.admin });
    expect(foreign.status).toBe(404);
    expect((await ts.call('GET', '/v1/tenants/rot-b/jobs/not-a-job', { token: a.admin })).status).toBe(404);
    await waitForJob(ts, 'rot-b', a.admin, rot.body.jobId, (j) => j.state === 'succeeded');
  });

  it('leaves an unreadable record untouched, fails the job, and refuses retire until it is gone', async () => {
    const t = await ts.tenant('rot-d');
    for (let i = 0; i < 9; i++) {
      await ts.call('PUT', `/v1/tenants/rot-d/secrets/s${i}`, {
        token: t.service,
        body: { kind: 'anthropic', value: value(i) },
      });
    }
    const enc = await ts.call('POST', '/v1/tenants/rot-d/encrypt', {
      token: t.service,
      body: { plaintext: Buffer.from('held by the caller').toString('base64') },
    });
    expect(enc.body.keyVersion).toBe(1);
    // Corrupt one stored ciphertext's tag (its last byte).
    await pool.query(
      `UPDATE secret_versions SET ciphertext = overlay(ciphertext placing decode(lpad(to_hex(get_byte(ciphertext, length(ciphertext) - 1) # 1), 2, '0'), 'hex') from length(ciphertext) for 1)
       WHERE tenant_id = 'rot-d' AND name = 's4'`,
    );
    const corrupt = (
      await pool.query(`SELECT ciphertext FROM secret_versions WHERE tenant_id = 'rot-d' AND name = 's4'`)
    ).rows[0].ciphertext as Buffer;

    expect(
      (
        await ts.call('POST', '/v1/tenants/rot-d/tenant-key/retire', {
          token: t.admin,
          body: { minVersion: 2 },
        })
      ).body.code,
    ).toBe('VALIDATION_FAILED');

    const rot = await ts.call('POST', '/v1/tenants/rot-d/tenant-key/rotate', { token: t.admin });
    const job = await waitForJob(ts, 'rot-d', t.admin, rot.body.jobId, (j) =>
      ['succeeded', 'failed'].includes(j.state),
    );
    expect(job).toMatchObject({ state: 'failed', done: 8, errors: 1, lastError: 'UNREADABLE_RECORDS: 1' });
    const s4 = await pool.query(
      `SELECT ciphertext, tk_version FROM secret_versions WHERE tenant_id = 'rot-d' AND name = 's4'`,
    );
    expect(s4.rows[0].tk_version).toBe(1);
    expect(Buffer.compare(s4.rows[0].ciphertext, corrupt)).toBe(0);
    const failedBatch = await pool.query(
      `SELECT count(*)::int AS n FROM audit_events WHERE tenant_id = 'rot-d' AND action = 'tenant-key.reencrypt' AND outcome = 'failure'`,
    );
    expect(failedBatch.rows[0].n).toBe(1);

    const refused = await ts.call('POST', '/v1/tenants/rot-d/tenant-key/retire', {
      token: t.admin,
      body: { minVersion: 2 },
    });
    expect(refused.status).toBe(409);
    expect(refused.body.code).toBe('CONFLICT');
    expect(refused.body.detail).toContain('1 stored secret versions');

    expect((await ts.call('DELETE', '/v1/tenants/rot-d/secrets/s4', { token: t.admin })).status).toBe(204);
    for (const body of [{}, { minVersion: 0 }, { minVersion: '2' }, { minVersion: 2, extra: 1 }]) {
      expect(
        (await ts.call('POST', '/v1/tenants/rot-d/tenant-key/retire', { token: t.admin, body })).status,
      ).toBe(400);
    }
    const ok = await ts.call('POST', '/v1/tenants/rot-d/tenant-key/retire', {
      token: t.admin,
      body: { minVersion: 2 },
    });
    expect(ok.status).toBe(200);
    expect(ok.body).toEqual({ minVersion: 2, retired: 1 });
    const keys = await pool.query(
      `SELECT version, state FROM tenant_keys WHERE tenant_id = 'rot-d' ORDER BY version`,
    );
    expect(keys.rows).toEqual([
      { version: 1, state: 'retired' },
      { version: 2, state: 'active' },
    ]);

    // A caller-held ciphertext under the retired version is refused with a clear reason.
    const dec = await ts.call('POST', '/v1/tenants/rot-d/decrypt', {
      token: t.service,
      body: { ciphertext: enc.body.ciphertext },
    });
    expect(dec.status).toBe(400);
    expect(dec.body.code).toBe('INVALID_CIPHERTEXT');
    expect(dec.body.detail).toBe('tenant key version 1 is retired');
    // Records on the new version still open.
    expect(
      (await ts.call('POST', '/v1/tenants/rot-d/secrets/s1/reveal', { token: t.service, body: {} })).body
        .value,
    ).toBe(value(1));
  });

  it('refuses retire while a re-encryption job is unfinished', async () => {
    const t = await ts.tenant('rot-e');
    const rot = await ts.call('POST', '/v1/tenants/rot-e/tenant-key/rotate', { token: t.admin });
    await waitForJob(ts, 'rot-e', t.admin, rot.body.jobId, (j) => j.state === 'succeeded');
    // An unfinished job that no runner will pick up for an hour.
    await pool.query(
      `INSERT INTO jobs (id, tenant_id, kind, state, target_version, run_after)
       VALUES ('job_000000000000000000000001', 'rot-e', 'tenant-key.reencrypt', 'paused', 2, now() + interval '1 hour')`,
    );
    const r = await ts.call('POST', '/v1/tenants/rot-e/tenant-key/retire', {
      token: t.admin,
      body: { minVersion: 2 },
    });
    expect(r.status).toBe(409);
    expect(r.body.detail).toContain('job');
    await pool.query(`UPDATE jobs SET state = 'cancelled' WHERE id = 'job_000000000000000000000001'`);
    expect(
      (
        await ts.call('POST', '/v1/tenants/rot-e/tenant-key/retire', {
          token: t.admin,
          body: { minVersion: 2 },
        })
      ).status,
    ).toBe(200);
  });
});

describe('job leases', () => {
  let db: TestDatabase;
  let store: Store;

  beforeAll(async () => {
    db = await createTestDatabase({ require: 'postgres' });
    store = await createPool({ databaseUrl: db.databaseUrl, max: 4 });
    await migrate(store.pool);
    await store.pool.query(`INSERT INTO tenants (id, name) VALUES ('lease-t', 'Lease')`);
  });
  afterAll(async () => {
    await store?.close();
    await db?.drop();
  });

  const newJob = (id: string) =>
    jobRepository.create(store.pool, {
      id,
      tenantId: 'lease-t',
      kind: 'tenant-key.reencrypt',
      targetVersion: 2,
      total: 0,
    });

  it('gives a job to exactly one of two racing runners', async () => {
    await newJob('job_race');
    const claims = await Promise.all([
      jobRepository.claim(store.pool, 'owner-a', 60_000),
      jobRepository.claim(store.pool, 'owner-b', 60_000),
    ]);
    expect(claims.filter((c) => c?.id === 'job_race')).toHaveLength(1);
    await jobRepository.cancelOpen(store.pool, 'lease-t', 'tenant-key.reencrypt', 'test over');
  });

  it('refuses writes by a runner without the lease and hands an expired lease to another', async () => {
    await newJob('job_lease');
    const a = await jobRepository.claim(store.pool, 'owner-a', 60_000);
    expect(a?.id).toBe('job_lease');
    expect(await jobRepository.claim(store.pool, 'owner-b', 60_000)).toBeUndefined();
    expect(await jobRepository.heartbeat(store.pool, 'job_lease', 'owner-b', 60_000)).toBe(false);
    expect(await jobRepository.heartbeat(store.pool, 'job_lease', 'owner-a', 60_000)).toBe(true);
    const progress = { cursorName: 'x', cursorVersion: 1, done: 1, errors: 0, leaseMs: 60_000 };
    expect(await jobRepository.saveProgress(store.pool, 'job_lease', 'owner-b', progress)).toBe(false);

    // owner-a "crashes": its lease runs out and owner-b takes over where it stopped.
    expect(await jobRepository.saveProgress(store.pool, 'job_lease', 'owner-a', progress)).toBe(true);
    await store.pool.query(
      `UPDATE jobs SET lease_until = now() - interval '1 second' WHERE id = 'job_lease'`,
    );
    const b = await jobRepository.claim(store.pool, 'owner-b', 60_000);
    expect(b).toMatchObject({ id: 'job_lease', leaseOwner: 'owner-b', cursorName: 'x', done: 1 });
    expect(await jobRepository.saveProgress(store.pool, 'job_lease', 'owner-a', progress)).toBe(false);
    expect(await jobRepository.finish(store.pool, 'job_lease', 'owner-a', 'succeeded', null)).toBe(false);
    expect(await jobRepository.finish(store.pool, 'job_lease', 'owner-b', 'succeeded', null)).toBe(true);
  });

  it('keeps a paused job until its backoff is over', async () => {
    await newJob('job_pause');
    expect((await jobRepository.claim(store.pool, 'owner-a', 60_000))?.id).toBe('job_pause');
    expect(await jobRepository.pause(store.pool, 'job_pause', 'owner-a', 'KMS_UNAVAILABLE', 60_000)).toBe(
      true,
    );
    const paused = await jobRepository.get(store.pool, 'lease-t', 'job_pause');
    expect(paused).toMatchObject({
      state: 'paused',
      lastError: 'KMS_UNAVAILABLE',
      failures: 1,
      leaseOwner: null,
    });
    expect(await jobRepository.claim(store.pool, 'owner-b', 60_000)).toBeUndefined();
    await store.pool.query(`UPDATE jobs SET run_after = now() WHERE id = 'job_pause'`);
    expect((await jobRepository.claim(store.pool, 'owner-b', 60_000))?.state).toBe('running');
  });
});

describe('rotation job on KMS trouble', () => {
  let ts: TestService;
  const keys = new MemoryLocalKeyStore();
  const local = createLocalKmsProvider({ store: keys });
  // Unwraps of tenant key version 1 fail as an outage while this is set: new writes (v2) still work.
  let failOldVersion = false;
  const flaky: KmsProvider = {
    name: 'local',
    wrap: (ref, pt, ctx, o) => local.wrap(ref, pt, ctx, o),
    unwrap: async (ref, wrapped, ctx, o) => {
      if (failOldVersion && ctx.version === '1')
        throw new KmsError('KMS_UNAVAILABLE', 'injected outage', { provider: 'local', keyRef: ref.uri });
      return local.unwrap(ref, wrapped, ctx, o);
    },
  };

  beforeAll(async () => {
    ts = await startTestService({
      env: {
        KMS_PROVIDERS: 'aws-kms',
        KMS_MAX_ATTEMPTS: '1',
        BREAKER_OPEN_MS: '100',
        JOB_POLL_MS: '20',
        JOB_RETRY_MS: '50',
        ROTATION_BATCH_SIZE: '4',
      },
      providers: [flaky],
    });
  });
  afterAll(async () => {
    await ts?.close();
  });

  it('pauses with the KMS error code, retries after a backoff and finishes by itself', async () => {
    await keys.createKey('kms-cmk');
    const platform = ts.adminToken;
    expect(
      (await ts.call('POST', '/v1/tenants', { token: platform, body: { id: 'rot-k', name: 'K' } })).status,
    ).toBe(201);
    // The tenant admin sets the CMK and policy and rotates (issue 13: never the platform admin).
    const admin = (
      await ts.call('POST', '/v1/tokens', {
        token: platform,
        body: { name: 'k admin', role: 'tenant-admin', tenantId: 'rot-k' },
      })
    ).body.token as string;
    expect(
      (
        await ts.call('PUT', '/v1/tenants/rot-k/cmk', {
          token: admin,
          body: { provider: 'local', keyRef: 'local:kms-cmk' },
        })
      ).status,
    ).toBe(200);
    // Strict mode: every use of a tenant key goes to the KMS, so the outage is seen by the job.
    expect(
      (await ts.call('PUT', '/v1/tenants/rot-k/policy', { token: admin, body: { cacheTtlSeconds: 0 } }))
        .status,
    ).toBe(200);
    const svc = (
      await ts.call('POST', '/v1/tokens', {
        token: platform,
        body: { name: 'k', role: 'service', tenantId: 'rot-k' },
      })
    ).body.token as string;
    for (let i = 0; i < 10; i++) {
      const put = await ts.call('PUT', `/v1/tenants/rot-k/secrets/k${i}`, {
        token: svc,
        body: { kind: 'anthropic', value: value(i) },
      });
      expect(put.status).toBe(201);
    }

    failOldVersion = true;
    const rot = await ts.call('POST', '/v1/tenants/rot-k/tenant-key/rotate', { token: admin });
    expect(rot.status).toBe(202);
    const paused = await waitForJob(
      ts,
      'rot-k',
      admin,
      rot.body.jobId,
      (j) => j.state === 'paused' && j.lastError !== null,
    );
    expect(paused).toMatchObject({ done: 0, lastError: expect.stringMatching(/^KMS_UNAVAILABLE/) });
    // Still paused (retrying) while the outage lasts; nothing was written.
    await new Promise((r) => setTimeout(r, 300));
    const still = await ts.call('GET', `/v1/tenants/rot-k/jobs/${rot.body.jobId}`, { token: admin });
    expect(['paused', 'running']).toContain(still.body.state);
    expect(still.body.done).toBe(0);

    failOldVersion = false;
    const done = await waitForJob(ts, 'rot-k', admin, rot.body.jobId, (j) => j.state === 'succeeded');
    expect(done).toMatchObject({ done: 10, total: 10, errors: 0, lastError: null });
    for (let i = 0; i < 10; i++) {
      expect(
        (await ts.call('POST', `/v1/tenants/rot-k/secrets/k${i}/reveal`, { token: svc, body: {} })).body
          .value,
      ).toBe(value(i));
    }
  });
});
