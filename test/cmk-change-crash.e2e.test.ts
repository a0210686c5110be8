import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { createTestDatabase, type TestDatabase } from '@byok/store/testing';
import { api, startServiceProcess, tempDir } from './support/service-process.js';

const ADMIN = 'byok_crash_admin_token_0123456789abcdefghij';

// Issue 5.3: change of CMK is crash-safe. The process is SIGKILLed at each failpoint; afterwards
// every record still decrypts and the switch happened whole or not at all.
describe('CMK change with SIGKILL at each failpoint', () => {
  let db: TestDatabase;
  let dir: { path: string; remove: () => Promise<void> };
  let env: Record<string, string>;

  beforeAll(async () => {
    db = await createTestDatabase({ require: 'postgres' });
    dir = await tempDir('byok-crash-');
    env = {
      DATABASE_URL: db.databaseUrl,
      DATA_DIR: dir.path,
      BOOTSTRAP_ADMIN_TOKEN: ADMIN,
      KMS_PROVIDERS: 'local',
    };
  });
  afterAll(async () => {
    await db?.drop();
    await dir?.remove();
  });

  /** CMK refs recorded on every tenant-key row of the tenant, and the registered one. */
  async function recordedRefs(tenantId: string): Promise<{ rows: string[]; cmk: string }> {
    const c = new pg.Client({ connectionString: db.databaseUrl });
    await c.connect();
    try {
      const rows = (
        await c.query<{ r: string }>(
          'SELECT cmk_key_ref AS r FROM tenant_keys WHERE tenant_id = $1 ORDER BY version',
          [tenantId],
        )
      ).rows.map((x) => x.r);
      const cmk =
        (await c.query<{ r: string }>('SELECT key_ref AS r FROM tenant_cmk WHERE tenant_id = $1', [tenantId]))
          .rows[0]?.r ?? '';
      return { rows, cmk };
    } finally {
      await c.end();
    }
  }

  for (const [failpointName, switched] of [
    ['cmk-change:after-wrap', false],
    ['cmk-change:before-commit', false],
    ['cmk-change:after-commit', true],
  ] as const) {
    it(`${failpointName}: nothing is lost and the switch ${switched ? 'happened whole' : 'did not happen'}`, async () => {
      const t = failpointName.replace(/[^a-z]/g, '-').replace(/-+/g, '-');
      // Set-up on a healthy process: two tenant-key versions, a secret and an encrypted record under each.
      let svc = await startServiceProcess(env);
      const u = svc.url;
      expect((await api(u, 'POST', '/v1/tenants', ADMIN, { id: t, name: t })).status).toBe(201);
      // The tenant admin changes the CMK; the service encrypts, decrypts and reveals (issue 13).
      const issue = async (role: string) =>
        (await api(u, 'POST', '/v1/tokens', ADMIN, { name: `${t} ${role}`, role, tenantId: t })).body
          .token as string;
      const TA = await issue('tenant-admin');
      const SVC = await issue('service');
      for (const k of ['old', 'new'])
        expect((await api(u, 'POST', '/v1/dev/local-kms/keys', ADMIN, { name: `${t}-${k}` })).status).toBe(
          201,
        );
      expect(
        (await api(u, 'PUT', `/v1/tenants/${t}/cmk`, TA, { provider: 'local', keyRef: `local:${t}-old` }))
          .status,
      ).toBe(200);
      const records: { ciphertext: string; plaintext: string }[] = [];
      const secrets: Record<string, string> = {};
      for (let v = 1; v <= 2; v++) {
        if (v === 2)
          expect((await api(u, 'POST', `/v1/tenants/${t}/tenant-key/rotate`, TA)).status).toBeLessThan(300);
        const plaintext = Buffer.from(`record under TK v${v}`).toString('base64');
        const enc = await api(u, 'POST', `/v1/tenants/${t}/encrypt`, SVC, {
          plaintext,
          context: { row: String(v) },
        });
        expect(enc.body.keyVersion).toBe(v);
        records.push({ ciphertext: enc.body.ciphertext, plaintext });
        const value = `sk-proj-${t}-secret-under-version-${v}-abcdefghij`.replace(/[^A-Za-z0-9_-]/g, '-');
        expect(
          (await api(u, 'PUT', `/v1/tenants/${t}/secrets/s${v}`, SVC, { kind: 'openai', value })).status,
        ).toBe(201);
        secrets[`s${v}`] = value;
      }
      await svc.stop();

      // The crash.
      svc = await startServiceProcess({ ...env, FAILPOINTS: failpointName });
      // The request is never answered: the process dies in the middle of it.
      const answer = await api(svc.url, 'PUT', `/v1/tenants/${t}/cmk`, TA, {
        provider: 'local',
        keyRef: `local:${t}-new`,
      }).then(
        (r) => `answered ${r.status}`,
        (e: unknown) => `no answer (${String((e as Error).cause ?? e)})`,
      );
      expect(answer).toMatch(/^no answer/);
      const code = await new Promise<number | null>((resolve) => {
        if (svc.child.exitCode !== null || svc.child.signalCode !== null) resolve(svc.child.exitCode);
        else svc.child.once('exit', (c) => resolve(c));
      });
      // tsx runs the service in a child node process and reports its SIGKILL as exit code 137.
      expect(svc.child.signalCode === 'SIGKILL' || code === 137).toBe(true);
      // Killed at this failpoint, not somewhere else (services/keyservice/src/failpoints.ts says which).
      expect(svc.output()).toContain(`failpoint ${failpointName}: SIGKILL`);

      // After restart: all or nothing, and everything decrypts.
      svc = await startServiceProcess(env);
      try {
        const expected = `local:${t}-${switched ? 'new' : 'old'}`;
        const refs = await recordedRefs(t);
        expect(refs.cmk).toBe(expected);
        expect(refs.rows).toEqual([expected, expected]);
        // The key no longer in use can be revoked with no loss.
        const unused = `${t}-${switched ? 'old' : 'new'}`;
        expect((await api(svc.url, 'POST', `/v1/dev/local-kms/keys/${unused}/disable`, ADMIN)).status).toBe(
          200,
        );
        for (const r of records) {
          const dec = await api(svc.url, 'POST', `/v1/tenants/${t}/decrypt`, SVC, {
            ciphertext: r.ciphertext,
            context: { row: r.plaintext === records[0]?.plaintext ? '1' : '2' },
          });
          expect(dec.body.plaintext).toBe(r.plaintext);
        }
        for (const [name, value] of Object.entries(secrets)) {
          expect(
            (await api(svc.url, 'POST', `/v1/tenants/${t}/secrets/${name}/reveal`, SVC, {})).body.value,
          ).toBe(value);
        }
        // And a change that is not interrupted still completes afterwards.
        if (!switched) {
          expect((await api(svc.url, 'POST', `/v1/dev/local-kms/keys/${unused}/enable`, ADMIN)).status).toBe(
            200,
          );
          expect(
            (
              await api(svc.url, 'PUT', `/v1/tenants/${t}/cmk`, TA, {
                provider: 'local',
                keyRef: `local:${t}-new`,
              })
            ).status,
          ).toBe(200);
          expect((await recordedRefs(t)).rows).toEqual([`local:${t}-new`, `local:${t}-new`]);
        }
      } finally {
        await svc.stop();
      }
    }, 120_000);
  }
});
