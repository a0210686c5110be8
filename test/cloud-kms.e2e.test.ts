import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createTestDatabase, type TestDatabase } from '@byok/store/testing';
import { startCloudEmulators, type CloudEmulators, type CustomerKms } from './support/emulators.js';
import { api, startServiceProcess, tempDir, type ServiceProcess } from './support/service-process.js';

// Polls are bounded in attempts, not timed: the assertion is on the answer, never on how long it took.
const POLL_INTERVAL_MS = 250;
const POLL_ATTEMPTS = 120;

/**
 * One started service process wired from its environment to the three cloud emulators, exercised the
 * way a customer would: the key is created and revoked through the cloud's own SDK, never through us.
 */
describe('cloud customer keys end to end (AWS KMS, Azure Key Vault, Google Cloud KMS)', () => {
  let db: TestDatabase;
  let dir: { path: string; remove: () => Promise<void> };
  let clouds: CloudEmulators;
  let svc: ServiceProcess;
  const ADMIN = 'byok_e2e_cloud_admin_token_0123456789abcdef';

  beforeAll(async () => {
    db = await createTestDatabase();
    dir = await tempDir('byok-e2e-cloud-');
    clouds = await startCloudEmulators(dir.path);
    svc = await startServiceProcess({
      ...clouds.serviceEnv,
      DATABASE_URL: db.databaseUrl,
      DATA_DIR: dir.path,
      BOOTSTRAP_ADMIN_TOKEN: ADMIN,
      KMS_TIMEOUT_MS: '10000',
      ...(db.kind === 'pglite' ? { DATABASE_POOL_MAX: '1' } : {}),
    });
  }, 120_000);
  afterAll(async () => {
    await svc?.stop();
    await clouds?.close();
    await db?.drop();
    await dir?.remove();
  }, 60_000);

  /** Each tenant's own tokens: its admin registers the key, its service encrypts and decrypts. */
  const tokens = new Map<string, { admin: string; service: string }>();
  /** Creates tenant `t` and has the platform admin issue its tenant-admin and service tokens. */
  async function createTenant(t: string, name: string): Promise<{ admin: string; service: string }> {
    expect((await api(svc.url, 'POST', '/v1/tenants', ADMIN, { id: t, name })).status).toBe(201);
    const issue = async (role: string) =>
      (await api(svc.url, 'POST', '/v1/tokens', ADMIN, { name: `${t} ${role}`, role, tenantId: t })).body
        .token as string;
    const made = { admin: await issue('tenant-admin'), service: await issue('service') };
    tokens.set(t, made);
    return made;
  }
  const decrypt = (tenant: string, ciphertext: string) =>
    api(svc.url, 'POST', `/v1/tenants/${tenant}/decrypt`, tokens.get(tenant)?.service, {
      ciphertext,
      context: { record: 'invoice-7' },
    });

  /** Decrypts until `done` accepts the answer; returns the last answer (the caller asserts on it). */
  async function pollDecrypt(
    tenant: string,
    ciphertext: string,
    done: (r: Awaited<ReturnType<typeof decrypt>>) => boolean,
  ) {
    let r = await decrypt(tenant, ciphertext);
    for (let i = 0; i < POLL_ATTEMPTS && !done(r); i++) {
      await sleep(POLL_INTERVAL_MS);
      r = await decrypt(tenant, ciphertext);
    }
    return r;
  }

  const providers = () => clouds.customers;
  describe.each(['aws-kms', 'azure-kv', 'gcp-kms'] as const)('%s', (provider) => {
    const tenant = `cloud-${provider}`;
    const customer = (): CustomerKms => {
      const c = providers().find((x) => x.provider === provider);
      if (!c) throw new RangeError(`no customer KMS for ${provider}`);
      return c;
    };

    it('registers the customer key, encrypts, is refused after the customer disables it, and recovers', async () => {
      const u = svc.url;
      const keyRef = await customer().createKey('tenant-cmk');
      const tk = await createTenant(tenant, provider);
      const reg = await api(u, 'PUT', `/v1/tenants/${tenant}/cmk`, tk.admin, { provider, keyRef });
      expect(reg.status).toBe(200);
      expect(reg.body).toMatchObject({ provider, keyRef, state: 'active', tenantKeyVersion: 1 });
      const policy = await api(u, 'PUT', `/v1/tenants/${tenant}/policy`, tk.admin, { cacheTtlSeconds: 1 });
      expect(policy.status).toBe(200);
      expect(policy.body.cacheTtlSeconds).toBe(1);

      const plaintext = Buffer.from(`payroll for ${provider}`).toString('base64');
      const enc = await api(u, 'POST', `/v1/tenants/${tenant}/encrypt`, tk.service, {
        plaintext,
        context: { record: 'invoice-7' },
      });
      expect(enc.status).toBe(200);
      const ciphertext = enc.body.ciphertext as string;
      const first = await decrypt(tenant, ciphertext);
      expect(first.status).toBe(200);
      expect(first.body.plaintext).toBe(plaintext);

      await customer().revoke(keyRef);
      const refused = await pollDecrypt(tenant, ciphertext, (r) => r.status !== 200);
      expect(refused.status).toBe(403);
      expect(refused.body.code).toBe('KEY_REVOKED');
      expect(refused.text).not.toContain(plaintext);
      const cmk = await api(u, 'GET', `/v1/tenants/${tenant}/cmk`, ADMIN);
      expect(cmk.body.state).toBe('revoked');

      await customer().restore(keyRef);
      const back = await pollDecrypt(tenant, ciphertext, (r) => r.status === 200);
      expect(back.status).toBe(200);
      expect(back.body.plaintext).toBe(plaintext);

      const audit = await api(u, 'GET', `/v1/audit?tenantId=${tenant}&action=kms.unwrap`, ADMIN);
      const outcomes = (audit.body.events as { outcome: string; errorCode: string | null }[]).map(
        (e) => `${e.outcome}:${e.errorCode ?? ''}`,
      );
      expect(outcomes).toContain('failure:KEY_REVOKED');
      expect(outcomes.at(-1)).toBe('success:');
    }, 90_000);

    it('refuses a key that does not exist with the provider reason and stores nothing', async () => {
      const u = svc.url;
      const t = `${tenant}-missing`;
      const tk = await createTenant(t, 'missing key');
      const missing = customer().missingKeyRef();
      const reg = await api(u, 'PUT', `/v1/tenants/${t}/cmk`, tk.admin, { provider, keyRef: missing });
      expect(reg.status).toBe(422);
      expect(reg.body.code).toBe('CMK_VERIFICATION_FAILED');
      // The provider's own reason, mapped to our taxonomy, reaches the tenant admin.
      expect(reg.body.detail).toContain('KEY_NOT_FOUND');
      expect(reg.body.detail).toContain(missing);
      expect((await api(u, 'GET', `/v1/tenants/${t}/cmk`, ADMIN)).status).toBe(404);
      const enc = await api(u, 'POST', `/v1/tenants/${t}/encrypt`, tk.service, {
        plaintext: 'aGk=',
        context: {},
      });
      expect(enc.body.code).toBe('CMK_NOT_CONFIGURED');
    }, 30_000);

    it('rejects a malformed key reference before any KMS call', async () => {
      const u = svc.url;
      const t = `${tenant}-malformed`;
      const tk = await createTenant(t, 'malformed');
      const callsBefore = customer().calls();
      const reg = await api(u, 'PUT', `/v1/tenants/${t}/cmk`, tk.admin, {
        provider,
        keyRef: customer().malformedKeyRef,
      });
      expect(reg.status).toBe(400);
      expect(reg.body.code).toBe('VALIDATION_FAILED');
      expect(reg.body.errors).toEqual([expect.objectContaining({ path: 'keyRef' })]);
      expect(customer().calls()).toBe(callsBefore);
      expect((await api(u, 'GET', `/v1/tenants/${t}/cmk`, ADMIN)).status).toBe(404);
    });
  });
});
