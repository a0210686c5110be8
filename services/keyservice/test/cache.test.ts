import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { auditCount, b64, kmsCalls } from './acceptance-helpers.js';
import { startTestService, type TestService } from './harness.js';

type Tokens = Awaited<ReturnType<TestService['tenant']>>;

/** The tenant-key cache fills single-flight: one KMS unwrap per tenant on a cold cache, however many wait. */
describe('tenant-key cache single-flight', () => {
  let s: TestService;
  const LOCAL_UNWRAP = { provider: 'local', operation: 'unwrap' };

  beforeAll(async () => {
    s = await startTestService({ env: { HEALTH_PROBE_INTERVAL_SECONDS: '0' } });
  });
  afterAll(async () => {
    await s?.close();
  });

  /** A tenant with one ciphertext, its cache made cold again by a policy write (which purges). */
  async function coldTenant(id: string, ttl = 60): Promise<{ t: Tokens; ct: string }> {
    const t = await s.tenant(id);
    const enc = await s.call('POST', `/v1/tenants/${id}/encrypt`, {
      token: t.service,
      body: { plaintext: b64(`data of ${id}`) },
    });
    expect(enc.status).toBe(200);
    expect(
      (await s.call('PUT', `/v1/tenants/${id}/policy`, { token: t.admin, body: { cacheTtlSeconds: ttl } }))
        .status,
    ).toBe(200);
    return { t, ct: enc.body.ciphertext as string };
  }

  const decryptMany = (id: string, t: Tokens, ct: string, n: number) =>
    Promise.all(
      Array.from({ length: n }, () =>
        s.call('POST', `/v1/tenants/${id}/decrypt`, { token: t.service, body: { ciphertext: ct } }),
      ),
    );

  it('200 concurrent decrypts on a cold cache cause exactly one KMS unwrap, audited once', async () => {
    const { t, ct } = await coldTenant('sf-one');
    const metricBefore = await kmsCalls(s, LOCAL_UNWRAP);
    const auditBefore = await auditCount(s, { tenantId: 'sf-one', action: 'kms.unwrap' });

    const replies = await decryptMany('sf-one', t, ct, 200);
    expect(replies.map((r) => r.status)).toEqual(Array(200).fill(200));
    for (const r of replies) expect(r.body).toEqual({ plaintext: b64('data of sf-one') });

    expect(await kmsCalls(s, LOCAL_UNWRAP)).toBe(metricBefore + 1);
    expect(await auditCount(s, { tenantId: 'sf-one', action: 'kms.unwrap' })).toBe(auditBefore + 1);
    expect(await auditCount(s, { tenantId: 'sf-one', action: 'decrypt', outcome: 'success' })).toBe(200);

    // Warm now: another burst needs no KMS call at all.
    await decryptMany('sf-one', t, ct, 100);
    expect(await kmsCalls(s, LOCAL_UNWRAP)).toBe(metricBefore + 1);
  });

  it('fills each tenant once when two cold tenants are hit at the same time', async () => {
    const x = await coldTenant('sf-x');
    const y = await coldTenant('sf-y');
    const before = await kmsCalls(s, LOCAL_UNWRAP);
    const replies = (
      await Promise.all([decryptMany('sf-x', x.t, x.ct, 100), decryptMany('sf-y', y.t, y.ct, 100)])
    ).flat();
    expect(replies.every((r) => r.status === 200)).toBe(true);
    expect(await kmsCalls(s, LOCAL_UNWRAP)).toBe(before + 2);
    expect(await auditCount(s, { tenantId: 'sf-x', action: 'kms.unwrap' })).toBeGreaterThanOrEqual(1);
  });

  it('counts every unwrap in strict mode (cacheTtlSeconds 0), so the counter above is a real measure', async () => {
    const { t, ct } = await coldTenant('sf-strict', 0);
    const before = await kmsCalls(s, LOCAL_UNWRAP);
    const replies = await decryptMany('sf-strict', t, ct, 20);
    expect(replies.every((r) => r.status === 200)).toBe(true);
    expect(await kmsCalls(s, LOCAL_UNWRAP)).toBe(before + 20);
  });
});
