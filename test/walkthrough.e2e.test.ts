import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createTestDatabase, type TestDatabase } from '@byok/store/testing';
import { api, startServiceProcess, tempDir, type ServiceProcess } from './support/service-process.js';

// The README walk-through, step by step, against a started service process.
describe('README walk-through against a started service', () => {
  let db: TestDatabase;
  let dir: { path: string; remove: () => Promise<void> };
  let svc: ServiceProcess;
  const ADMIN = 'byok_e2e_admin_token_0123456789abcdefghij';

  beforeAll(async () => {
    db = await createTestDatabase();
    dir = await tempDir('byok-e2e-');
    svc = await startServiceProcess({
      DATABASE_URL: db.databaseUrl,
      DATA_DIR: dir.path,
      BOOTSTRAP_ADMIN_TOKEN: ADMIN,
      ...(db.kind === 'pglite' ? { DATABASE_POOL_MAX: '1' } : {}),
    });
  });
  afterAll(async () => {
    await svc?.stop();
    await db?.drop();
    await dir?.remove();
  });

  it('runs every step of the README and gets the documented answers', async () => {
    const u = svc.url;
    expect((await api(u, 'GET', '/readyz')).status).toBe(200);
    expect((await api(u, 'POST', '/v1/tenants', ADMIN, { id: 'acme', name: 'Acme Corp' })).status).toBe(201);
    expect((await api(u, 'POST', '/v1/dev/local-kms/keys', ADMIN, { name: 'acme-cmk' })).status).toBe(201);
    const cmk = await api(u, 'PUT', '/v1/tenants/acme/cmk', ADMIN, {
      provider: 'local',
      keyRef: 'local:acme-cmk',
    });
    expect(cmk.status).toBe(200);
    expect(cmk.body).toMatchObject({
      provider: 'local',
      keyRef: 'local:acme-cmk',
      state: 'active',
      tenantKeyVersion: 1,
    });

    const tok = await api(u, 'POST', '/v1/tokens', ADMIN, {
      name: 'llm-gateway',
      role: 'service',
      tenantId: 'acme',
    });
    expect(tok.status).toBe(201);
    const SVC = tok.body.token as string;

    const value = 'sk-ant-api03-EXAMPLEexampleEXAMPLEexample0123';
    expect(
      (await api(u, 'PUT', '/v1/tenants/acme/secrets/anthropic', SVC, { kind: 'anthropic', value })).status,
    ).toBe(201);
    const list = await api(u, 'GET', '/v1/tenants/acme/secrets', SVC);
    expect(list.body.secrets[0]).toMatchObject({ name: 'anthropic', hint: 'sk-ant-...0123', version: 1 });
    expect(list.text).not.toContain(value);
    const reveal = await api(u, 'POST', '/v1/tenants/acme/secrets/anthropic/reveal', SVC, {
      purpose: 'llm-inference',
    });
    expect(reveal.body).toEqual({ value, version: 1 });

    expect((await api(u, 'PUT', '/v1/tenants/acme/policy', ADMIN, { cacheTtlSeconds: 0 })).status).toBe(200);
    expect((await api(u, 'POST', '/v1/dev/local-kms/keys/acme-cmk/disable', ADMIN)).status).toBe(200);
    const refused = await api(u, 'POST', '/v1/tenants/acme/secrets/anthropic/reveal', SVC, {});
    expect(refused.status).toBe(403);
    expect(refused.body.code).toBe('KEY_REVOKED');
    expect((await api(u, 'POST', '/v1/dev/local-kms/keys/acme-cmk/enable', ADMIN)).status).toBe(200);
    expect((await api(u, 'POST', '/v1/tenants/acme/secrets/anthropic/reveal', SVC, {})).body.value).toBe(
      value,
    );

    const audit = await api(u, 'GET', '/v1/audit?tenantId=acme&action=secret.reveal', ADMIN);
    expect(
      audit.body.events.map((e: { outcome: string; errorCode: string | null }) => [e.outcome, e.errorCode]),
    ).toEqual([
      ['success', null],
      ['failure', 'KEY_REVOKED'],
      ['success', null],
    ]);
    const verify = await api(u, 'GET', '/v1/audit/verify?tenantId=acme', ADMIN);
    expect(verify.body.ok).toBe(true);
    expect(svc.output()).not.toContain(value);
  });

  it('shuts down cleanly on SIGTERM', async () => {
    const code = await svc.stop();
    expect(code).toBe(0);
  });
});
