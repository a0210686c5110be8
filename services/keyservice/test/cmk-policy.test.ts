import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { tenantRepository } from '@byok/store';
import type { KmsModuleConfigs } from '@byok/kms';
import { AWS_CONTEXT_ACTIONS, type AwsPolicyStatement } from '@byok/kms-aws';
import { AZURE_HSM_ROLE, AZURE_ROLE } from '@byok/kms-azure';
import { GCP_READ_ROLE, GCP_USE_ROLE } from '@byok/kms-gcp';
import { ConfigError, loadConfig } from '../src/config.js';
import { cmkPolicyGuide as guideFor } from '../src/domain/keys/cmk-policy.js';
import { kmsModules } from '../src/kms-modules.js';
import { startTestService, type TestService } from './harness.js';

const ROLE = 'arn:aws:iam::444455556666:role/byok-keyservice';
const PRINCIPAL = '0b5c3c2e-9f1a-4d7e-8c61-2f0e4a9b7d13';
const SA = 'byok-keyservice@platform-prod.iam.gserviceaccount.com';
// Each module's settings, as config.kms.modules holds them: the service identity in each cloud.
const IDENTITY: KmsModuleConfigs = {
  'aws-kms': { SERVICE_AWS_ROLE_ARN: ROLE },
  'azure-kv': { SERVICE_AZURE_PRINCIPAL_ID: PRINCIPAL },
  'gcp-kms': { SERVICE_GCP_SERVICE_ACCOUNT: SA },
};
const cmkPolicyGuide = (provider: string, tenantId: string, configs: KmsModuleConfigs, keyRef?: string) =>
  guideFor(kmsModules, configs, provider, tenantId, keyRef);
const AWS_KEY = 'arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const AZURE_KEY = 'https://contoso-keys.vault.azure.net/keys/tenant-cmk/0123456789abcdef0123456789abcdef';
const GCP_KEY = 'projects/acme-prod/locations/europe-west1/keyRings/byok/cryptoKeys/tenant-cmk';

describe('cmkPolicyGuide (customer-side grants)', () => {
  it('gives AWS two statements: context-bound use, and DescribeKey without a context condition', () => {
    const g = cmkPolicyGuide('aws-kms', 'acme-corp', IDENTITY, AWS_KEY);
    if (g.grant.kind !== 'aws-key-policy') throw new TypeError(`unexpected grant ${g.grant.kind}`);
    // The policy survives a JSON round trip unchanged: what the CLI sends is what we describe.
    const policy = JSON.parse(JSON.stringify(g.grant.keyPolicy)) as {
      Version: string;
      Statement: AwsPolicyStatement[];
    };
    expect(policy.Version).toBe('2012-10-17');
    expect(g.grant.statements).toHaveLength(2);
    const [use, describeKey] = g.grant.statements as [AwsPolicyStatement, AwsPolicyStatement];
    expect(use.Principal).toEqual({ AWS: ROLE });
    expect(use.Action).toEqual([...AWS_CONTEXT_ACTIONS]);
    expect(use.Action).toEqual(['kms:Encrypt', 'kms:Decrypt', 'kms:GenerateDataKey']);
    expect(use.Condition).toEqual({ StringEquals: { 'kms:EncryptionContext:tenant': 'acme-corp' } });
    expect(use.Sid).toMatch(/^[A-Za-z0-9]+$/);
    expect(describeKey).toMatchObject({ Principal: { AWS: ROLE }, Action: 'kms:DescribeKey', Resource: '*' });
    expect(describeKey.Condition).toBeUndefined();
    // The full policy keeps the key's account in control, then adds exactly our two statements.
    expect(policy.Statement[0]).toMatchObject({
      Principal: { AWS: 'arn:aws:iam::111122223333:root' },
      Action: 'kms:*',
    });
    expect(policy.Statement.slice(1)).toEqual(g.grant.statements);
    expect(new Set(policy.Statement.map((s) => s.Sid)).size).toBe(3);
  });

  it('gives an AWS CLI one-liner whose --policy argument is the same JSON', () => {
    const g = cmkPolicyGuide('aws-kms', 'acme-corp', IDENTITY, AWS_KEY);
    expect(g.cli).toMatch(
      /^aws kms put-key-policy --region eu-west-1 --key-id '[^']+' --policy-name default /,
    );
    const arg = /--policy '(.*)'$/.exec(g.cli)?.[1];
    expect(arg && JSON.parse(arg)).toEqual(
      g.grant.kind === 'aws-key-policy' ? g.grant.keyPolicy : 'not an AWS grant',
    );
  });

  it('gives Azure the Crypto Service Encryption User role on the key, not the vault', () => {
    const g = cmkPolicyGuide('azure-kv', 'acme-corp', IDENTITY, AZURE_KEY);
    expect(g.grant).toEqual({
      kind: 'azure-role-assignment',
      roleName: 'Key Vault Crypto Service Encryption User',
      roleDefinitionId: 'e147488a-f6f5-4113-8e2d-b22465e65bf6',
      principalId: PRINCIPAL,
      principalType: 'ServicePrincipal',
      scope:
        '/subscriptions/<SUBSCRIPTION_ID>/resourceGroups/<RESOURCE_GROUP>/providers/Microsoft.KeyVault/vaults/contoso-keys/keys/tenant-cmk',
    });
    expect(AZURE_ROLE.id).toBe('e147488a-f6f5-4113-8e2d-b22465e65bf6');
    expect(g.cli).toContain('az role assignment create --role e147488a-f6f5-4113-8e2d-b22465e65bf6');
    expect(g.cli).toContain(`--assignee-object-id '${PRINCIPAL}'`);
    expect(g.cli).toContain("az keyvault show --name 'contoso-keys'");
    expect(g.cli).toContain('/keys/tenant-cmk"');
  });

  it('uses the Managed HSM local role and /keys scope for a Managed HSM key', () => {
    const g = cmkPolicyGuide(
      'azure-kv',
      'acme-corp',
      IDENTITY,
      'https://contoso-hsm.managedhsm.azure.net/keys/tenant-cmk',
    );
    expect(g.grant).toMatchObject({
      roleName: 'Managed HSM Crypto Service Encryption User',
      scope: '/keys/tenant-cmk',
    });
    expect(g.cli).toMatch(/^az keyvault role assignment create --hsm-name 'contoso-hsm' /);
  });

  it('gives GCP the encrypter/decrypter binding on the CryptoKey for the service account', () => {
    const g = cmkPolicyGuide('gcp-kms', 'acme-corp', IDENTITY, GCP_KEY);
    if (g.grant.kind !== 'gcp-iam-binding') throw new TypeError(`unexpected grant ${g.grant.kind}`);
    expect(g.grant.resource).toBe(GCP_KEY);
    expect((g.grant.bindings as unknown[])[0]).toEqual({
      role: GCP_USE_ROLE,
      members: [`serviceAccount:${SA}`],
    });
    expect(GCP_USE_ROLE).toBe('roles/cloudkms.cryptoKeyEncrypterDecrypter');
    expect(g.cli).toContain(
      "gcloud kms keys add-iam-policy-binding 'tenant-cmk' --keyring 'byok' --location 'europe-west1' --project 'acme-prod'" +
        ` --member 'serviceAccount:${SA}' --role roles/cloudkms.cryptoKeyEncrypterDecrypter`,
    );
  });

  it('writes placeholders, never a guessed key, when no key reference is given', () => {
    for (const p of ['aws-kms', 'azure-kv', 'gcp-kms'] as const) {
      const g = cmkPolicyGuide(p, 'acme-corp', IDENTITY);
      expect(g.keyRef).toBeNull();
      expect(g.cli).toMatch(/<[A-Z_]+>/);
    }
  });

  it('refuses a key reference of another provider or a malformed one', () => {
    expect(() => cmkPolicyGuide('aws-kms', 't', IDENTITY, GCP_KEY)).toThrow(
      expect.objectContaining({ code: 'INVALID_KEY_REF' }),
    );
    expect(() => cmkPolicyGuide('gcp-kms', 't', IDENTITY, 'projects/x')).toThrow(
      expect.objectContaining({ code: 'INVALID_KEY_REF' }),
    );
  });

  it('refuses to write a grant when the operator did not configure the service identity', () => {
    expect(() => cmkPolicyGuide('aws-kms', 't', {})).toThrow(
      expect.objectContaining({
        code: 'KMS_MISCONFIGURED',
        message: expect.stringContaining('SERVICE_AWS_ROLE_ARN'),
      }),
    );
    expect(() => cmkPolicyGuide('gcp-kms', 't', { 'aws-kms': IDENTITY['aws-kms'] })).toThrow(
      expect.objectContaining({ code: 'KMS_MISCONFIGURED' }),
    );
  });

  it('shell-quotes values so a quote in them cannot break out of the command', () => {
    const g = cmkPolicyGuide('gcp-kms', 't', {
      'gcp-kms': { SERVICE_GCP_SERVICE_ACCOUNT: "evil'; rm -rf /" },
    });
    expect(g.cli).toContain(`'serviceAccount:evil'\\''; rm -rf /'`);
  });
});

describe('service identity config', () => {
  const base = { BYOK_MODE: 'development', KMS_PROVIDERS: 'local' };
  it('reads the three identities', () => {
    const c = loadConfig({
      ...base,
      SERVICE_AWS_ROLE_ARN: ROLE,
      SERVICE_AZURE_PRINCIPAL_ID: PRINCIPAL,
      SERVICE_GCP_SERVICE_ACCOUNT: SA,
    });
    expect(c.kms.modules).toMatchObject(IDENTITY);
  });
  it.each([
    ['SERVICE_AWS_ROLE_ARN', 'arn:aws:iam::444455556666:user/someone'],
    ['SERVICE_AZURE_PRINCIPAL_ID', 'not-a-guid'],
    ['SERVICE_GCP_SERVICE_ACCOUNT', 'no-at-sign'],
  ])('rejects a malformed %s', (name, value) => {
    expect(() => loadConfig({ ...base, [name]: value })).toThrow(ConfigError);
  });
});

describe('GET /v1/tenants/{t}/cmk/policy', () => {
  let svc: TestService;
  let acme: Awaited<ReturnType<TestService['tenant']>>;
  let other: Awaited<ReturnType<TestService['tenant']>>;

  beforeAll(async () => {
    svc = await startTestService({
      // No tenant-state cache, so the lock set below through the store is seen at once.
      env: { SERVICE_AWS_ROLE_ARN: ROLE, SERVICE_AZURE_PRINCIPAL_ID: PRINCIPAL, TENANT_CACHE_MS: '0' },
    });
    acme = await svc.tenant('policy-acme');
    other = await svc.tenant('policy-other');
  }, 60_000);
  afterAll(async () => {
    await svc?.close();
  }, 60_000);

  const path = (t: string, q: string) => `/v1/tenants/${t}/cmk/policy?${q}`;

  it('answers the tenant admin with the grant for its own tenant', async () => {
    const r = await svc.call(
      'GET',
      path('policy-acme', `provider=aws-kms&keyRef=${encodeURIComponent(AWS_KEY)}`),
      {
        token: acme.admin,
      },
    );
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({
      provider: 'aws-kms',
      tenantId: 'policy-acme',
      keyRef: AWS_KEY,
      principal: ROLE,
    });
    expect(r.body.grant.statements[0].Condition).toEqual({
      StringEquals: { 'kms:EncryptionContext:tenant': 'policy-acme' },
    });
  });

  it('answers the Terraform form of the same grant', async () => {
    const r = await svc.call(
      'GET',
      path('policy-acme', `provider=aws-kms&keyRef=${encodeURIComponent(AWS_KEY)}`),
      {
        token: acme.admin,
      },
    );
    expect(r.status).toBe(200);
    expect(r.body.terraform).toContain(`identifiers = [${JSON.stringify(ROLE)}]`);
    expect(r.body.terraform).toContain('values   = ["policy-acme"]');
    expect(r.body.terraform).toContain(`key_id = ${JSON.stringify(AWS_KEY)}`);
  });

  it('answers the platform admin, also for a tenant locked by its kill switch', async () => {
    await tenantRepository.setState(svc.service.store.pool, 'policy-other', 'locked');
    const locked = await svc.call('GET', path('policy-other', 'provider=aws-kms'), { token: other.admin });
    expect(locked.status).toBe(200);
    const r = await svc.call('GET', path('policy-other', 'provider=azure-kv'), { token: svc.adminToken });
    expect(r.status).toBe(200);
    expect(r.body.grant.principalId).toBe(PRINCIPAL);
  });

  it('denies another tenant admin, a service token and an auditor', async () => {
    for (const token of [other.admin, acme.service, acme.auditor]) {
      const r = await svc.call('GET', path('policy-acme', 'provider=aws-kms'), { token });
      expect(r.status).toBe(403);
      expect(r.body.code).toBe('FORBIDDEN');
      expect(r.text).not.toContain(ROLE);
    }
    expect((await svc.call('GET', path('policy-acme', 'provider=aws-kms'))).status).toBe(401);
  });

  it('validates the query', async () => {
    const bad = await svc.call('GET', path('policy-acme', 'provider=local'), { token: acme.admin });
    expect(bad.status).toBe(400);
    expect(bad.body.code).toBe('VALIDATION_FAILED');
    expect((await svc.call('GET', path('policy-acme', ''), { token: acme.admin })).body.code).toBe(
      'VALIDATION_FAILED',
    );
    const wrong = await svc.call(
      'GET',
      path('policy-acme', `provider=aws-kms&keyRef=${encodeURIComponent(GCP_KEY)}`),
      {
        token: acme.admin,
      },
    );
    expect(wrong.status).toBe(400);
    expect(wrong.body.code).toBe('VALIDATION_FAILED');
    expect(wrong.body.errors).toEqual([expect.objectContaining({ path: 'keyRef' })]);
  });

  it('says which variable is missing when the service identity is not configured', async () => {
    const r = await svc.call('GET', path('policy-acme', 'provider=gcp-kms'), { token: acme.admin });
    expect(r.status).toBe(503);
    expect(r.body.code).toBe('KMS_MISCONFIGURED');
    expect(r.body.detail).toContain('SERVICE_GCP_SERVICE_ACCOUNT');
  });

  it('answers 404 for a tenant that does not exist (platform admin)', async () => {
    const r = await svc.call('GET', path('no-such-tenant', 'provider=aws-kms'), { token: svc.adminToken });
    expect(r.status).toBe(404);
  });
});

const INFRA = resolve(dirname(fileURLToPath(import.meta.url)), '../../../infra/terraform');
const TERRAFORM = spawnSync('terraform', ['version'], { encoding: 'utf8' }).status === 0;
if (!TERRAFORM && process.env.CI !== 'true') {
  process.stderr.write(
    '[cmk-policy] terraform is not on PATH: skipping `terraform fmt -check` of infra/terraform\n',
  );
}

describe('Terraform examples (infra/terraform)', () => {
  const tf = (cloud: string) => readFileSync(join(INFRA, cloud, 'main.tf'), 'utf8');

  // In CI terraform must be present: a missing binary fails there instead of skipping.
  (TERRAFORM || process.env.CI === 'true' ? it : it.skip)(
    'are formatted (terraform fmt -check -recursive)',
    () => {
      const r = spawnSync('terraform', ['fmt', '-check', '-recursive', INFRA], { encoding: 'utf8' });
      expect(r.error).toBeUndefined();
      expect({ status: r.status, unformatted: r.stdout.trim() }).toEqual({ status: 0, unformatted: '' });
    },
  );

  it('grant what the onboarding endpoint describes', () => {
    const aws = tf('aws');
    for (const action of AWS_CONTEXT_ACTIONS) expect(aws).toContain(`"${action}"`);
    expect(aws).toContain('variable = "kms:EncryptionContext:tenant"');
    expect(aws).toContain('actions   = ["kms:DescribeKey"]');
    expect(tf('azure')).toContain(`roleDefinitions/${AZURE_ROLE.id}`);
    expect(tf('azure')).toContain('scope = azurerm_key_vault_key.this.resource_versionless_id');
    const gcp = tf('gcp');
    expect(gcp).toContain(`role          = "${GCP_USE_ROLE}"`);
    expect(gcp).toContain(`role          = "${GCP_READ_ROLE}"`);
    expect(gcp).toContain('member        = "serviceAccount:${var.service_account}"');
  });
});

describe('Terraform form of each onboarding grant', () => {
  const HSM_KEY = 'https://contoso-hsm.managedhsm.azure.net/keys/tenant-cmk';
  const cases: [string, string | undefined][] = [
    ['aws-kms', undefined],
    ['aws-kms', AWS_KEY],
    ['azure-kv', undefined],
    ['azure-kv', AZURE_KEY],
    ['azure-kv', HSM_KEY],
    ['gcp-kms', undefined],
    ['gcp-kms', GCP_KEY],
  ];

  (TERRAFORM || process.env.CI === 'true' ? it : it.skip)('parses and is formatted (terraform fmt)', () => {
    // The named keys above, and every registered module's grant with placeholders.
    const snippets = [
      ...cases.map(([provider, keyRef]) => ({
        provider,
        keyRef,
        tf: cmkPolicyGuide(provider, 'acme-corp', IDENTITY, keyRef).terraform,
      })),
      ...kmsModules.modules().map((m) => ({
        provider: m.name,
        keyRef: undefined,
        tf: m.onboarding?.grant('acme-corp', 'service-principal', undefined).terraform,
      })),
    ];
    for (const { provider, keyRef, tf } of snippets) {
      if (tf === undefined) continue;
      const r = spawnSync('terraform', ['fmt', '-'], { input: tf, encoding: 'utf8' });
      expect({ provider, keyRef, status: r.status, formatted: r.stdout === tf }).toEqual({
        provider,
        keyRef,
        status: 0,
        formatted: true,
      });
    }
  });

  it('grants what the JSON grant says, on the named key', () => {
    const aws = cmkPolicyGuide('aws-kms', 'acme-corp', IDENTITY, AWS_KEY).terraform ?? '';
    expect(aws).toContain(`actions   = [${AWS_CONTEXT_ACTIONS.map((a) => `"${a}"`).join(', ')}]`);
    expect(aws).toContain('variable = "kms:EncryptionContext:tenant"');
    expect(aws).toContain('values   = ["acme-corp"]');
    expect(aws).toContain('actions   = ["kms:DescribeKey"]');
    expect(aws).toContain(`key_id = "${AWS_KEY}"`);
    const azure = cmkPolicyGuide('azure-kv', 'acme-corp', IDENTITY, AZURE_KEY).terraform ?? '';
    expect(azure).toContain(`roleDefinitions/${AZURE_ROLE.id}`);
    expect(azure).toContain('name                = "contoso-keys"');
    expect(azure).toContain('name         = "tenant-cmk"');
    expect(azure).toContain(`principal_id       = "${PRINCIPAL}"`);
    const hsm = cmkPolicyGuide('azure-kv', 'acme-corp', IDENTITY, HSM_KEY).terraform ?? '';
    expect(hsm).toContain(`name           = "${AZURE_HSM_ROLE.id}"`);
    expect(hsm).toContain('scope              = "/keys/tenant-cmk"');
    const gcp = cmkPolicyGuide('gcp-kms', 'acme-corp', IDENTITY, GCP_KEY).terraform ?? '';
    expect(gcp).toContain(`crypto_key_id = "${GCP_KEY}"`);
    expect(gcp).toContain(`role          = "${GCP_USE_ROLE}"`);
    expect(gcp).toContain(`role          = "${GCP_READ_ROLE}"`);
    expect(gcp).toContain(`member        = "serviceAccount:${SA}"`);
  });

  it('quotes values so they cannot end an HCL string or start an interpolation', () => {
    const evil = 'x"} ${file("/etc/passwd")}';
    const tf =
      cmkPolicyGuide('gcp-kms', 't', { 'gcp-kms': { SERVICE_GCP_SERVICE_ACCOUNT: evil } }).terraform ?? '';
    expect(tf).toContain('member        = "serviceAccount:x\\"} $${file(\\"/etc/passwd\\")}"');
    // Every `${` left is the escaped `$${`, which Terraform reads as literal text.
    expect(tf.replace(/\$\$\{/g, '')).not.toContain('${');
  });
});
