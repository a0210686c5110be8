import { afterEach, describe, expect, it } from '@jest/globals';
import { createPool, type Store } from '@byok/store';
import { createTestDatabase, type TestDatabase } from '@byok/store/testing';
import { api, startServiceProcess, tempDir, type ServiceProcess } from './support/service-process.js';

// kill -9 during a re-encryption job, at each step of a batch: the restarted service finishes the
// job and every record still decrypts to its value (G6). The failpoint SIGKILLs the service itself.

const ADMIN = 'byok_e2e_rotation_admin_0123456789abcdef';
const N = 35;
const value = (i: number) => `sk-ant-api03-crash-${String(i).padStart(3, '0')}-abcdefghijklmnopqrst`;

describe('rotation job survives SIGKILL at any step of a batch', () => {
  let db: TestDatabase | undefined;
  let dir: { path: string; remove: () => Promise<void> } | undefined;
  let svc: ServiceProcess | undefined;
  let store: Store | undefined;

  afterEach(async () => {
    if (svc?.child.exitCode === null && svc.child.signalCode === null) await svc.stop();
    await store?.close();
    await db?.drop();
    await dir?.remove();
    svc = undefined;
    store = undefined;
  });

  it.each([
    ['rotation:after-batch-seal', 0],
    ['rotation:before-batch-commit', 0],
    ['rotation:after-batch-commit', 10],
  ])(
    'killed at %s, resumes on restart and loses nothing',
    async (failpoint, committedAtCrash) => {
      db = await createTestDatabase({ require: 'postgres' });
      dir = await tempDir('byok-rot-crash-');
      store = await createPool({ databaseUrl: db.databaseUrl, max: 2 });
      const pool = store.pool;
      const env = {
        BYOK_MODE: 'development',
        DATABASE_URL: db.databaseUrl,
        DATA_DIR: dir.path,
        BOOTSTRAP_ADMIN_TOKEN: ADMIN,
        ROTATION_BATCH_SIZE: '10',
        JOB_POLL_MS: '50',
        JOB_LEASE_MS: '1000',
      };
      svc = await startServiceProcess({ ...env, FAILPOINTS: failpoint });
      // tsx runs the service as its own child and exits with 128 + 9 when that child is SIGKILLed.
      const died = new Promise<string>((res) =>
        svc?.child.once('exit', (code, signal) =>
          res(signal === 'SIGKILL' || code === 137 ? 'SIGKILL' : `${signal ?? code}`),
        ),
      );
      const u = svc.url;
      expect((await api(u, 'POST', '/v1/tenants', ADMIN, { id: 'crash', name: 'Crash' })).status).toBe(201);
      expect((await api(u, 'POST', '/v1/dev/local-kms/keys', ADMIN, { name: 'crash-cmk' })).status).toBe(201);
      // The tenant admin registers the CMK and rotates (issue 13: never the platform admin).
      const TA = (
        await api(u, 'POST', '/v1/tokens', ADMIN, { name: 'ta', role: 'tenant-admin', tenantId: 'crash' })
      ).body.token as string;
      expect(
        (
          await api(u, 'PUT', '/v1/tenants/crash/cmk', TA, {
            provider: 'local',
            keyRef: 'local:crash-cmk',
          })
        ).status,
      ).toBe(200);
      const tok = await api(u, 'POST', '/v1/tokens', ADMIN, {
        name: 'svc',
        role: 'service',
        tenantId: 'crash',
      });
      const SVC = tok.body.token as string;
      for (let i = 0; i < N; i++) {
        const put = await api(u, 'PUT', `/v1/tenants/crash/secrets/k${i}`, SVC, {
          kind: 'anthropic',
          value: value(i),
        });
        expect(put.status).toBe(201);
      }

      // The job starts at once and the failpoint kills the process in its first batch; the answer
      // to this request may or may not get out first.
      await api(u, 'POST', '/v1/tenants/crash/tenant-key/rotate', TA).catch(() => undefined);
      expect(await died).toBe('SIGKILL');

      const atCrash = await pool.query<{ tk_version: number; n: number }>(
        `SELECT tk_version, count(*)::int AS n FROM secret_versions WHERE tenant_id = 'crash' GROUP BY tk_version ORDER BY tk_version`,
      );
      const byVersion = Object.fromEntries(atCrash.rows.map((r) => [r.tk_version, r.n]));
      expect(byVersion[2] ?? 0).toBe(committedAtCrash);
      expect((byVersion[1] ?? 0) + (byVersion[2] ?? 0)).toBe(N);
      const job = (await pool.query(`SELECT id, state, done FROM jobs WHERE tenant_id = 'crash'`)).rows;
      expect(job).toHaveLength(1);
      expect(job[0]).toMatchObject({ state: 'running', done: String(committedAtCrash) });

      // Restart without the failpoint on the same database and key file: the lease expires, the job resumes.
      svc = await startServiceProcess(env);
      const deadline = Date.now() + 30_000;
      let view;
      for (;;) {
        view = await api(svc.url, 'GET', `/v1/tenants/crash/jobs/${job[0].id as string}`, ADMIN);
        if (view.body?.state === 'succeeded' || Date.now() > deadline) break;
        await new Promise((res) => setTimeout(res, 50));
      }
      expect(view.body).toMatchObject({ state: 'succeeded', done: N, total: N, errors: 0, targetVersion: 2 });

      const after = await pool.query<{ tk_version: number; n: number }>(
        `SELECT tk_version, count(*)::int AS n FROM secret_versions WHERE tenant_id = 'crash' GROUP BY tk_version`,
      );
      expect(after.rows).toEqual([{ tk_version: 2, n: N }]);
      for (let i = 0; i < N; i++) {
        const r = await api(svc.url, 'POST', `/v1/tenants/crash/secrets/k${i}/reveal`, SVC, {});
        expect(r.body).toEqual({ value: value(i), version: 1 });
      }
      expect((await api(svc.url, 'GET', '/v1/audit/verify?tenantId=crash', ADMIN)).body.ok).toBe(true);
    },
    120_000,
  );
});
