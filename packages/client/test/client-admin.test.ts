import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startTestService, type TestService } from '../../../services/keyservice/test/harness.js';
import { ByokApiError, createClient, type ByokClient } from '../src/index.js';

const caught = async (p: Promise<unknown>): Promise<ByokApiError> => {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(ByokApiError);
  return e as ByokApiError;
};

describe('ByokClient administration and audit operations against the real key service', () => {
  let svc: TestService;
  let admin: ByokClient;
  let tenantAdmin: ByokClient;
  let service: ByokClient;
  let auditor: ByokClient;
  const T = `ca-${randomBytes(4).toString('hex')}`;

  beforeAll(async () => {
    svc = await startTestService({
      // EGRESS_ALLOW_CIDRS: the sink test registers a loopback URL.
      env: {
        SERVICE_GCP_SERVICE_ACCOUNT: 'byok-svc@platform.iam.gserviceaccount.com',
        EGRESS_ALLOW_CIDRS: '127.0.0.0/8',
      },
    });
    const t = await svc.tenant(T);
    const as = (token: string) => createClient({ baseUrl: svc.url, token });
    admin = as(svc.adminToken);
    tenantAdmin = as(t.admin);
    service = as(t.service);
    auditor = as(t.auditor);
  });
  afterAll(async () => {
    await svc?.close();
  });

  it('lists and revokes tokens, and locks and restores the tenant', async () => {
    const tokens = await tenantAdmin.listTokens(T);
    expect(tokens.map((x) => x.role).sort()).toEqual(['auditor', 'service', 'tenant-admin']);
    const extra = await tenantAdmin.createToken({ name: 'temp', role: 'auditor', tenantId: T });
    await tenantAdmin.revokeToken(T, extra.id);
    expect((await tenantAdmin.listTokens(T)).find((x) => x.id === extra.id)?.revokedAt).toEqual(
      expect.any(String),
    );
    expect(await caught(tenantAdmin.revokeToken(T, 'tok_missing'))).toMatchObject({ code: 'NOT_FOUND' });

    await expect(tenantAdmin.lockTenant(T)).resolves.toEqual({ id: T, state: 'locked' });
    expect(await caught(service.encrypt(T, new Uint8Array([1])))).toMatchObject({ code: 'TENANT_LOCKED' });
    await expect(tenantAdmin.restoreTenant(T)).resolves.toEqual({ id: T, state: 'active' });
    await expect(service.encrypt(T, new Uint8Array([1]))).resolves.toMatchObject({ keyVersion: 1 });
  });

  it('answers the onboarding grant, rotates the tenant key and follows its job', async () => {
    const guide = await tenantAdmin.getCmkPolicy(T, { provider: 'gcp-kms' });
    expect(guide).toMatchObject({ provider: 'gcp-kms', tenantId: T });
    const rotation = await tenantAdmin.rotateTenantKey(T);
    expect(rotation.version).toBe(2);
    let job = await tenantAdmin.getJob(T, rotation.jobId);
    for (let i = 0; i < 100 && job.state !== 'succeeded'; i++) {
      await new Promise((r) => setTimeout(r, 100));
      job = await tenantAdmin.getJob(T, rotation.jobId);
    }
    expect(job).toMatchObject({ id: rotation.jobId, state: 'succeeded', targetVersion: 2 });
    expect(await caught(tenantAdmin.getJob(T, 'job_000000000000000000000000'))).toMatchObject({
      code: 'NOT_FOUND',
    });
  });

  it('reads audit details, exports, signs checkpoints and lists KMS calls', async () => {
    const page = await auditor.queryAudit({ tenantId: T, action: 'tenant.lock' });
    // The contract's AuditEvent carries details: the client no longer strips them.
    expect(page.events[0]?.details).toEqual({ newState: 'locked' });

    const ndjson = await auditor.exportAudit(T);
    expect(ndjson.split('\n')[0]).toContain('"type":"header"');
    expect((await auditor.exportAudit(T, 'csv')).split('\r\n')[0]).toContain('seq');

    const key = await auditor.getAuditPublicKey();
    expect(key.algorithm).toBe('Ed25519');
    const ring = await auditor.listAuditPublicKeys();
    expect(ring.signingKeyId).toBe(key.keyId);
    expect(ring.keys.map((k) => k.keyId)).toContain(key.keyId);
    const cp = await auditor.createCheckpoint(T);
    expect(cp.checkpoint).toMatchObject({ chain: T, keyId: key.keyId });
    expect((await auditor.listCheckpoints(T)).map((c) => c.seq)).toContain(cp.checkpoint.seq);

    const calls = await auditor.listKmsCalls({ tenantId: T });
    expect(calls.calls.length).toBeGreaterThan(0);
    expect(calls.calls.every((c) => c.operation === 'kms.unwrap')).toBe(true);
  });

  it('registers, reads and disables a SIEM sink', async () => {
    const sink = await tenantAdmin.createAuditSink(T, { url: 'http://127.0.0.1:9/siem', startAt: 'now' });
    expect(sink.secret).toMatch(/^whsec_/);
    const listed = await auditor.listAuditSinks(T);
    expect(listed.map((x) => x.id)).toEqual([sink.id]);
    expect(JSON.stringify(listed)).not.toContain(sink.secret);
    await expect(auditor.getAuditSink(T, sink.id)).resolves.toMatchObject({ id: sink.id, enabled: true });
    await tenantAdmin.disableAuditSink(T, sink.id);
    await expect(auditor.getAuditSink(T, sink.id)).resolves.toMatchObject({ enabled: false });
  });

  it('sets, lists and removes AI spend caps and reads the usage report', async () => {
    await service.putSecret(T, 'openai-main', {
      kind: 'openai',
      value: 'sk-proj-ClientCap0123456789abcdefghijk',
    });
    expect(await tenantAdmin.putTenantAiBudget(T, { period: 'month', limitMicros: 5_000_000 })).toMatchObject(
      {
        scope: 'tenant',
        limitMicros: 5_000_000,
      },
    );
    await tenantAdmin.putSecretAiBudget(T, 'openai-main', { period: 'day', limitMicros: 100_000 });
    expect((await admin.listAiBudgets(T)).map((b) => `${b.scope}/${b.period}`)).toEqual([
      'tenant/month',
      'secret/day',
    ]);
    await tenantAdmin.deleteSecretAiBudget(T, 'openai-main', 'day');
    await tenantAdmin.deleteTenantAiBudget(T, 'month');
    expect(await tenantAdmin.listAiBudgets(T)).toEqual([]);
    expect(await caught(service.putTenantAiBudget(T, { period: 'day', limitMicros: 1 }))).toMatchObject({
      code: 'FORBIDDEN',
    });
    expect(await tenantAdmin.getAiUsage(T, { groupBy: 'model' })).toMatchObject({
      groups: [],
      total: { calls: 0 },
    });
  });

  it('offboards the tenant by crypto-shredding its keys', async () => {
    const deleted = await admin.deleteTenant(T);
    expect(deleted).toMatchObject({ id: T, state: 'deleted' });
    expect(deleted.destroyedTenantKeys).toBeGreaterThan(0);
    expect(await caught(admin.getTenant(T))).toMatchObject({ code: 'NOT_FOUND' });
  });
});
