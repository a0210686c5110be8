import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { auditCount, b64, kmsCalls } from './acceptance-helpers.js';
import { startTestService, type TestService } from './harness.js';

const LOCAL_UNWRAP = { provider: 'local', operation: 'unwrap' };

/** No KMS amplification: one unwrap per key version per request, and a per-tenant call budget. */
describe('KMS protection', () => {
  let s: TestService;

  beforeAll(async () => {
    s = await startTestService({
      env: { HEALTH_PROBE_INTERVAL_SECONDS: '0', KMS_CALLS_PER_TENANT_PER_SEC: '4' },
    });
  });
  afterAll(async () => {
    await s?.close();
  });

  /** A strict-mode tenant (cacheTtlSeconds 0) with one ciphertext. */
  async function strictTenant(
    id: string,
  ): Promise<{ t: Awaited<ReturnType<TestService['tenant']>>; ct: string }> {
    const t = await s.tenant(id);
    const enc = await s.call('POST', `/v1/tenants/${id}/encrypt`, {
      token: t.service,
      body: { plaintext: b64(`data of ${id}`) },
    });
    expect(enc.status).toBe(200);
    const pol = await s.call('PUT', `/v1/tenants/${id}/policy`, {
      token: t.admin,
      body: { cacheTtlSeconds: 0 },
    });
    expect(pol.status).toBe(200);
    return { t, ct: enc.body.ciphertext as string };
  }

  it('strict mode: a batch of 200 tampered items under one key version makes exactly 1 KMS unwrap', async () => {
    const { t, ct } = await strictTenant('kp-batch');
    const tampered = `${ct.slice(0, -2)}${ct.endsWith('AA') ? 'AB' : 'AA'}`;
    const unwrapsBefore = await kmsCalls(s, LOCAL_UNWRAP);
    const auditBefore = await auditCount(s, { tenantId: 'kp-batch', action: 'kms.unwrap' });

    const dec = await s.call('POST', '/v1/tenants/kp-batch/decrypt/batch', {
      token: t.service,
      body: { items: Array.from({ length: 200 }, () => ({ ciphertext: tampered })) },
    });
    expect(dec.status).toBe(200);
    const codes = dec.body.results.map((r: { ok: boolean; error?: { code: string } }) =>
      r.ok ? 'ok' : r.error?.code,
    );
    expect(codes).toEqual(Array(200).fill('INVALID_CIPHERTEXT'));
    expect(await kmsCalls(s, LOCAL_UNWRAP)).toBe(unwrapsBefore + 1);
    expect(await auditCount(s, { tenantId: 'kp-batch', action: 'kms.unwrap' })).toBe(auditBefore + 1);

    // A mixed batch (valid and tampered, one version) still opens the valid items with that one unwrap.
    const mixed = await s.call('POST', '/v1/tenants/kp-batch/decrypt/batch', {
      token: t.service,
      body: { items: [{ ciphertext: ct }, { ciphertext: tampered }, { ciphertext: ct }] },
    });
    expect(mixed.status).toBe(200);
    expect(mixed.body.results.map((r: { ok: boolean }) => r.ok)).toEqual([true, false, true]);
    expect(mixed.body.results[0].plaintext).toBe(b64('data of kp-batch'));
    expect(await kmsCalls(s, LOCAL_UNWRAP)).toBe(unwrapsBefore + 2);
  });

  it('past the per-tenant KMS budget answers KMS_THROTTLED itself, with zero extra KMS calls, audited', async () => {
    const { t, ct } = await strictTenant('kp-budget');
    const other = await strictTenant('kp-other');
    // Let the budget refill after the setup calls.
    await new Promise((r) => setTimeout(r, 1100));
    const unwrapsBefore = await kmsCalls(s, LOCAL_UNWRAP);

    const replies = await Promise.all(
      Array.from({ length: 20 }, () =>
        s.call('POST', '/v1/tenants/kp-budget/decrypt', { token: t.service, body: { ciphertext: ct } }),
      ),
    );
    const ok = replies.filter((r) => r.status === 200).length;
    const throttled = replies.filter((r) => r.status === 429);
    expect(ok + throttled.length).toBe(20);
    expect(ok).toBeGreaterThanOrEqual(4);
    expect(throttled.length).toBeGreaterThanOrEqual(10);
    for (const r of throttled) expect(r.body.code).toBe('KMS_THROTTLED');
    // Only the admitted requests reached the KMS.
    expect(await kmsCalls(s, LOCAL_UNWRAP)).toBe(unwrapsBefore + ok);
    expect(
      await auditCount(s, {
        tenantId: 'kp-budget',
        action: 'kms.unwrap',
        outcome: 'denied',
        errorCode: 'KMS_THROTTLED',
      }),
    ).toBe(throttled.length);

    // Another tenant's budget is its own.
    const theirs = await s.call('POST', '/v1/tenants/kp-other/decrypt', {
      token: other.t.service,
      body: { ciphertext: other.ct },
    });
    expect(theirs.status).toBe(200);
  });
});
