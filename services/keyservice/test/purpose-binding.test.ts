import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { DecryptCommand, DisableKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { createAwsKmsProvider } from '@byok/kms-aws';
import { startAwsKmsEmulator, type AwsKmsEmulator } from '@byok/kms-emulators';
import { sql } from './acceptance-helpers.js';
import { startTestService, type TestService } from './harness.js';

process.env.AWS_EC2_METADATA_DISABLED = 'true';

// Issue 6.5: in strict mode the declared purpose goes into the KMS encryption context, so it shows
// in the customer's own KMS log and the customer's KMS enforces it.
describe('strict-mode purpose binding in the KMS encryption context', () => {
  let emu: AwsKmsEmulator;
  let kms: KMSClient;
  let s: TestService;
  let svc: string;
  let tenantAdmin: string;
  let keyA: string;
  let keyB: string;
  const t = 'purposeful';

  beforeAll(async () => {
    emu = await startAwsKmsEmulator();
    const credentials = emu.credentials[0];
    if (!credentials) throw new Error('emulator has no credentials');
    kms = new KMSClient({ region: emu.region, endpoint: emu.endpoint, credentials });
    keyA = emu.admin.createKey().arn;
    keyB = emu.admin.createKey().arn;
    s = await startTestService({
      providers: [createAwsKmsProvider({ region: emu.region, endpoint: emu.endpoint, credentials })],
    });
    const admin = s.adminToken;
    expect(
      (await s.call('POST', '/v1/tenants', { token: admin, body: { id: t, name: 'Purposeful' } })).status,
    ).toBe(201);
    // The tenant admin, never the platform admin, registers the customer key (issue 13).
    tenantAdmin = (
      await s.call('POST', '/v1/tokens', {
        token: admin,
        body: { name: 'ta', role: 'tenant-admin', tenantId: t },
      })
    ).body.token;
    expect(
      (
        await s.call('PUT', `/v1/tenants/${t}/cmk`, {
          token: tenantAdmin,
          body: { provider: 'aws-kms', keyRef: keyA },
        })
      ).status,
    ).toBe(200);
    svc = (
      await s.call('POST', '/v1/tokens', {
        token: admin,
        body: { name: 'svc', role: 'service', tenantId: t },
      })
    ).body.token;
  });
  afterAll(async () => {
    await s?.close();
    kms?.destroy();
    await emu?.close();
  });

  const policy = {
    cacheTtlSeconds: 0,
    allowedPurposes: { byRole: { service: ['llm-inference', 'support-debug'] } },
    purposeInKmsContext: true,
  };

  it('is refused unless the tenant is in strict mode with a purpose list', async () => {
    const r = await s.call('PUT', `/v1/tenants/${t}/policy`, {
      token: tenantAdmin,
      body: { ...policy, cacheTtlSeconds: 60 },
    });
    expect(r.status).toBe(400);
    expect(r.body.code).toBe('VALIDATION_FAILED');
    const none = await s.call('PUT', `/v1/tenants/${t}/policy`, {
      token: tenantAdmin,
      body: { cacheTtlSeconds: 0, purposeInKmsContext: true },
    });
    expect(none.status).toBe(400);
  });

  it('wraps one copy per purpose that only the KMS context naming that purpose unwraps', async () => {
    expect(
      (await s.call('PUT', `/v1/tenants/${t}/policy`, { token: tenantAdmin, body: policy })).status,
    ).toBe(200);
    const rows = await sql<{ access_purpose: string; wrapped: Buffer }>(
      s,
      'SELECT access_purpose, wrapped FROM tenant_key_purpose_wraps WHERE tenant_id = $1 ORDER BY access_purpose',
      [t],
    );
    expect(rows.map((r) => r.access_purpose)).toEqual(['llm-inference', 'support-debug']);
    const blob = rows[0]!.wrapped;
    // The customer's KMS itself (here through the official SDK) binds the copy to its purpose.
    const ok = await kms.send(
      new DecryptCommand({
        KeyId: keyA,
        CiphertextBlob: blob,
        EncryptionContext: { tenant: t, purpose: 'tenant-key', version: '1', accessPurpose: 'llm-inference' },
      }),
    );
    expect(ok.Plaintext?.length).toBe(32);
    await expect(
      kms.send(
        new DecryptCommand({
          KeyId: keyA,
          CiphertextBlob: blob,
          EncryptionContext: { tenant: t, purpose: 'tenant-key', version: '1', accessPurpose: 'export' },
        }),
      ),
    ).rejects.toMatchObject({ name: 'InvalidCiphertextException' });
  });

  it('unwraps through the purpose copy on every strict decrypt and records the purpose on the kms.unwrap event', async () => {
    const plaintext = Buffer.from('prompt context for the model').toString('base64');
    const { ciphertext } = (
      await s.call('POST', `/v1/tenants/${t}/encrypt`, { token: svc, body: { plaintext } })
    ).body;
    const before = emu.admin.callCount('Decrypt');
    for (let i = 0; i < 3; i++) {
      const r = await s.call('POST', `/v1/tenants/${t}/decrypt`, {
        token: svc,
        body: { ciphertext, purpose: 'llm-inference' },
      });
      expect(r.body.plaintext).toBe(plaintext);
    }
    expect(emu.admin.callCount('Decrypt') - before).toBe(3);
    const events = await sql<{ purpose: string | null }>(
      s,
      `SELECT purpose FROM audit_events WHERE chain = $1 AND action = 'kms.unwrap' ORDER BY seq DESC LIMIT 3`,
      [t],
    );
    expect(events.map((e) => e.purpose)).toEqual(['llm-inference', 'llm-inference', 'llm-inference']);
    const denied = await s.call('POST', `/v1/tenants/${t}/decrypt`, {
      token: svc,
      body: { ciphertext, purpose: 'export' },
    });
    expect(denied.body.code).toBe('PURPOSE_NOT_ALLOWED');
  });

  it('keeps the purpose copies through a tenant-key rotation and a CMK change, so the old CMK can go', async () => {
    expect((await s.call('POST', `/v1/tenants/${t}/tenant-key/rotate`, { token: tenantAdmin })).status).toBe(
      202,
    );
    const v2 = await sql<{ n: string }>(
      s,
      'SELECT count(*) AS n FROM tenant_key_purpose_wraps WHERE tenant_id = $1 AND version = 2',
      [t],
    );
    expect(Number(v2[0]?.n)).toBe(2);
    const plaintext = Buffer.from('written under v2').toString('base64');
    const { ciphertext } = (
      await s.call('POST', `/v1/tenants/${t}/encrypt`, { token: svc, body: { plaintext } })
    ).body;

    expect(
      (
        await s.call('PUT', `/v1/tenants/${t}/cmk`, {
          token: tenantAdmin,
          body: { provider: 'aws-kms', keyRef: keyB },
        })
      ).status,
    ).toBe(200);
    const refs = await sql<{ cmk_key_ref: string }>(
      s,
      'SELECT DISTINCT cmk_key_ref FROM tenant_key_purpose_wraps WHERE tenant_id = $1',
      [t],
    );
    expect(refs.map((r) => r.cmk_key_ref)).toEqual([keyB]);
    await kms.send(new DisableKeyCommand({ KeyId: keyA }));
    const r = await s.call('POST', `/v1/tenants/${t}/decrypt`, {
      token: svc,
      body: { ciphertext, purpose: 'support-debug' },
    });
    expect(r.body.plaintext).toBe(plaintext);
  });

  it('crypto-shredding removes the purpose copies too', async () => {
    expect((await s.call('DELETE', `/v1/tenants/${t}`, { token: s.adminToken })).status).toBe(200);
    const left = await sql<{ n: string }>(
      s,
      'SELECT count(*) AS n FROM tenant_key_purpose_wraps WHERE tenant_id = $1',
      [t],
    );
    expect(Number(left[0]?.n)).toBe(0);
  });
});
