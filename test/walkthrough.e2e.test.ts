import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createSoftHsmToken, softHsmAvailable, type SoftHsmToken } from '@byok/kms-pkcs11/testing';
import { createTestDatabase, type TestDatabase } from '@byok/store/testing';
import { api, startServiceProcess, tempDir, type ServiceProcess } from './support/service-process.js';

/** The customer's side of one kind of key: where it lives and how the customer disables it. */
interface CustomerKeySetup {
  /** Settings the service needs to reach this kind of key. */
  env: Record<string, string>;
  /** Creates the key; answers what the tenant admin registers. */
  create(svc: ServiceProcess, admin: string): Promise<{ provider: string; keyRef: string }>;
  disable(svc: ServiceProcess, admin: string): Promise<void>;
  enable(svc: ServiceProcess, admin: string): Promise<void>;
  close(): Promise<void>;
}

/** The development KMS inside the service, driven over its dev routes. */
async function localKey(): Promise<CustomerKeySetup> {
  const toggle = async (svc: ServiceProcess, admin: string, op: 'disable' | 'enable') => {
    expect((await api(svc.url, 'POST', `/v1/dev/local-kms/keys/acme-cmk/${op}`, admin)).status).toBe(200);
  };
  return {
    env: {},
    async create(svc, admin) {
      expect((await api(svc.url, 'POST', '/v1/dev/local-kms/keys', admin, { name: 'acme-cmk' })).status).toBe(
        201,
      );
      return { provider: 'local', keyRef: 'local:acme-cmk' };
    },
    disable: (svc, admin) => toggle(svc, admin, 'disable'),
    enable: (svc, admin) => toggle(svc, admin, 'enable'),
    close: async () => {},
  };
}

/**
 * An AES-256 key in a SoftHSMv2 token, administered the way an HSM customer does it (the token is
 * made before the service starts: SoftHSM lists tokens when the library initializes).
 */
async function hsmKey(): Promise<CustomerKeySetup> {
  const token: SoftHsmToken = await createSoftHsmToken();
  const ref = token.keyRef('acme cmk');
  return {
    env: {
      PKCS11_MODULE: token.modulePath,
      PKCS11_PIN_FILE: token.pinFile,
      // The library in the service process must read the same token directory (set by the Jest global setup).
      ...(process.env.SOFTHSM2_CONF ? { SOFTHSM2_CONF: process.env.SOFTHSM2_CONF } : {}),
    },
    async create() {
      await token.createKey('acme cmk');
      return { provider: 'pkcs11', keyRef: ref.uri };
    },
    disable: () => token.disable(ref),
    enable: () => token.enable(ref),
    close: () => token.destroy(),
  };
}

const hsmMissing = !softHsmAvailable();
if (hsmMissing && process.env.CI === 'true') {
  throw new Error(
    'SoftHSMv2 is missing (/usr/lib/softhsm/libsofthsm2.so): .ci/run installs the softhsm2 package',
  );
}
if (hsmMissing) {
  process.stderr.write(
    '[walkthrough] SoftHSMv2 not installed (apt-get install softhsm2): the pkcs11 run is skipped\n',
  );
}

const runs: [string, () => Promise<CustomerKeySetup>][] = [
  ['the local development KMS', localKey],
  ...(hsmMissing
    ? []
    : ([['a PKCS#11 HSM (SoftHSMv2)', hsmKey]] as [string, () => Promise<CustomerKeySetup>][])),
];

// The README walk-through, step by step, against a started service process, once per kind of customer key.
describe.each(runs)('README walk-through against a started service, key in %s', (_title, makeKey) => {
  let db: TestDatabase;
  let dir: { path: string; remove: () => Promise<void> };
  let key: CustomerKeySetup;
  let svc: ServiceProcess;
  const ADMIN = 'byok_e2e_admin_token_0123456789abcdefghij';

  beforeAll(async () => {
    db = await createTestDatabase();
    dir = await tempDir('byok-e2e-');
    key = await makeKey();
    svc = await startServiceProcess({
      ...key.env,
      DATABASE_URL: db.databaseUrl,
      DATA_DIR: dir.path,
      BOOTSTRAP_ADMIN_TOKEN: ADMIN,
      ...(db.kind === 'pglite' ? { DATABASE_POOL_MAX: '1' } : {}),
    });
  });
  afterAll(async () => {
    await svc?.stop();
    await key?.close();
    await db?.drop();
    await dir?.remove();
  });

  it('runs every step of the README and gets the documented answers', async () => {
    const u = svc.url;
    const forbidden = (r: { status: number; body: { code?: string } }) => {
      expect(r.status).toBe(403);
      expect(r.body.code).toBe('FORBIDDEN');
    };
    expect((await api(u, 'GET', '/readyz')).status).toBe(200);

    // The platform admin creates a tenant and its first tenant-admin token.
    expect((await api(u, 'POST', '/v1/tenants', ADMIN, { id: 'acme', name: 'Acme Corp' })).status).toBe(201);
    const ta = await api(u, 'POST', '/v1/tokens', ADMIN, {
      name: 'acme admin',
      role: 'tenant-admin',
      tenantId: 'acme',
    });
    expect(ta.status).toBe(201);
    const TA = ta.body.token as string;

    // The customer's key, registered by the tenant admin; the platform admin may not choose it.
    const registered = await key.create(svc, ADMIN);
    const cmk = await api(u, 'PUT', '/v1/tenants/acme/cmk', TA, registered);
    expect(cmk.status).toBe(200);
    expect(cmk.body).toMatchObject({ ...registered, state: 'active', tenantKeyVersion: 1 });
    forbidden(await api(u, 'PUT', '/v1/tenants/acme/cmk', ADMIN, registered));

    // The platform admin issues the gateway's service token; the tenant admin cannot.
    const tok = await api(u, 'POST', '/v1/tokens', ADMIN, {
      name: 'llm-gateway',
      role: 'service',
      service: 'llm-gateway',
      tenantId: 'acme',
    });
    expect(tok.status).toBe(201);
    let SVC = tok.body.token as string;
    const SVC_ID = tok.body.id as string;
    forbidden(await api(u, 'POST', '/v1/tokens', TA, { name: 'mine', role: 'service', tenantId: 'acme' }));

    // Store, list (masked), reveal; the platform admin cannot reveal.
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
    const byAdmin = await api(u, 'POST', '/v1/tenants/acme/secrets/anthropic/reveal', ADMIN, {});
    forbidden(byAdmin);
    expect(byAdmin.text).not.toContain(value);

    // The customer disables its key (strict mode: at once), then enables it again.
    expect((await api(u, 'PUT', '/v1/tenants/acme/policy', TA, { cacheTtlSeconds: 0 })).status).toBe(200);
    await key.disable(svc, ADMIN);
    const refused = await api(u, 'POST', '/v1/tenants/acme/secrets/anthropic/reveal', SVC, {});
    expect(refused.status).toBe(403);
    expect(refused.body.code).toBe('KEY_REVOKED');
    await key.enable(svc, ADMIN);
    expect((await api(u, 'POST', '/v1/tenants/acme/secrets/anthropic/reveal', SVC, {})).body.value).toBe(
      value,
    );

    // The tenant admin suspends the gateway's access to acme, then lifts it.
    expect((await api(u, 'PUT', '/v1/tenants/acme/services/llm-gateway/suspension', TA)).body.suspended).toBe(
      true,
    );
    forbidden(await api(u, 'POST', '/v1/tenants/acme/secrets/anthropic/reveal', SVC, {}));
    expect(
      (await api(u, 'DELETE', '/v1/tenants/acme/services/llm-gateway/suspension', TA)).body.suspended,
    ).toBe(false);

    // The gateway rotates its own token; the old one works through the overlap.
    const rotated = await api(u, 'POST', `/v1/tokens/${SVC_ID}/rotate`, SVC, { overlapSeconds: 60 });
    expect(rotated.status).toBe(201);
    const OLD = SVC;
    SVC = rotated.body.token as string;
    expect((await api(u, 'POST', '/v1/tenants/acme/secrets/anthropic/reveal', SVC, {})).body.value).toBe(
      value,
    );
    expect((await api(u, 'GET', '/v1/tenants/acme/secrets', OLD)).status).toBe(200);

    // The audit log (read by the tenant admin) and its verification.
    const audit = await api(u, 'GET', '/v1/audit?tenantId=acme&action=secret.reveal', TA);
    expect(
      audit.body.events.map((e: { outcome: string; errorCode: string | null }) => [e.outcome, e.errorCode]),
    ).toEqual([
      ['success', null],
      ['denied', 'FORBIDDEN'],
      ['failure', 'KEY_REVOKED'],
      ['success', null],
      ['denied', 'FORBIDDEN'],
      ['success', null],
    ]);
    const verify = await api(u, 'GET', '/v1/audit/verify?tenantId=acme', TA);
    expect(verify.body.ok).toBe(true);
    expect(svc.output()).not.toContain(value);
  });

  it('shuts down cleanly on SIGTERM', async () => {
    const code = await svc.stop();
    expect(code).toBe(0);
  });
});
