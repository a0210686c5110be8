import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { auditCount, b64, expectProblem, sql } from './acceptance-helpers.js';
import { startTestService, type TestService } from './harness.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** KMS calls made so far, on the service's own counter. */
async function kmsCallCount(s: TestService): Promise<number> {
  const m = await s.service.metrics.kmsCalls.get();
  return m.values.reduce((sum, v) => sum + v.value, 0);
}

describe('separation of duties (issue 13)', () => {
  let s: TestService;
  let t: Awaited<ReturnType<TestService['tenant']>>;
  const T = 'sod';
  const enc = (token: string, tenant = T) =>
    s.call('POST', `/v1/tenants/${tenant}/encrypt`, { token, body: { plaintext: b64('x') } });

  beforeAll(async () => {
    s = await startTestService();
    t = await s.tenant(T);
  });
  afterAll(async () => {
    await s?.close();
  });

  it('refuses a tenant admin a service token (403 FORBIDDEN, audited, nothing issued)', async () => {
    const before = await sql(s, `SELECT id FROM api_tokens WHERE tenant_id = $1`, [T]);
    const denied = await auditCount(s, { tenantId: T, action: 'token.create', outcome: 'denied' });
    const r = await s.call('POST', '/v1/tokens', {
      token: t.admin,
      body: { name: 'mine', role: 'service', tenantId: T },
    });
    expectProblem(r, 403, 'FORBIDDEN');
    expect(await sql(s, `SELECT id FROM api_tokens WHERE tenant_id = $1`, [T])).toHaveLength(before.length);
    expect(await auditCount(s, { tenantId: T, action: 'token.create', outcome: 'denied' })).toBe(denied + 1);
  });

  it('refuses a platform admin decrypt, reveal and PUT cmk on a tenant, with no KMS call', async () => {
    const { ciphertext } = (await enc(t.service)).body as { ciphertext: string };
    expect(
      (
        await s.call('PUT', `/v1/tenants/${T}/secrets/k`, {
          token: t.service,
          body: { kind: 'openai', value: 'sk-proj-Separation0123456789abcdefghijk' },
        })
      ).status,
    ).toBe(201);
    const newKey = `${T}-platform-choice`;
    await s.call('POST', '/v1/dev/local-kms/keys', { token: s.adminToken, body: { name: newKey } });
    const kms = await kmsCallCount(s);
    const attempts = [
      s.call('POST', `/v1/tenants/${T}/decrypt`, { token: s.adminToken, body: { ciphertext } }),
      s.call('POST', `/v1/tenants/${T}/secrets/k/reveal`, { token: s.adminToken, body: {} }),
      s.call('PUT', `/v1/tenants/${T}/cmk`, {
        token: s.adminToken,
        body: { provider: 'local', keyRef: `local:${newKey}` },
      }),
    ];
    for (const r of await Promise.all(attempts)) {
      expectProblem(r, 403, 'FORBIDDEN');
      expect(r.text).not.toContain('sk-proj-');
    }
    expect(await kmsCallCount(s)).toBe(kms);
    expect((await s.call('GET', `/v1/tenants/${T}/cmk`, { token: t.admin })).body.keyRef).toBe(
      `local:${t.keyName}`,
    );
  });

  it('issues no token for a locked tenant, and rotates none either', async () => {
    const tl = await s.tenant('sod-locked');
    expect((await s.call('POST', '/v1/tenants/sod-locked/revoke', { token: tl.admin })).status).toBe(200);
    for (const role of ['service', 'tenant-admin', 'auditor']) {
      const r = await s.call('POST', '/v1/tokens', {
        token: s.adminToken,
        body: { name: 'while locked', role, tenantId: 'sod-locked' },
      });
      expectProblem(r, 423, 'TENANT_LOCKED');
    }
    const mine = await s.call('GET', '/v1/tenants/sod-locked/tokens', { token: tl.admin });
    const adminId = (mine.body.tokens as { id: string; role: string }[]).find(
      (x) => x.role === 'tenant-admin',
    )!.id;
    expectProblem(
      await s.call('POST', `/v1/tokens/${adminId}/rotate`, { token: tl.admin, body: { overlapSeconds: 0 } }),
      423,
      'TENANT_LOCKED',
    );
  });

  it('ends a token at its expiresAt, even while its verification is cached', async () => {
    const r = await s.call('POST', '/v1/tokens', {
      token: s.adminToken,
      body: {
        name: 'brief',
        role: 'service',
        tenantId: T,
        expiresAt: new Date(Date.now() + 1500).toISOString(),
      },
    });
    expect(r.status).toBe(201);
    expect(r.body.expiresAt).toEqual(expect.any(String));
    expect((await enc(r.body.token as string)).status).toBe(200);
    await sleep(1700);
    expectProblem(await enc(r.body.token as string), 401, 'UNAUTHENTICATED');
    expectProblem(
      await s.call('POST', '/v1/tokens', {
        token: s.adminToken,
        body: { name: 'past', role: 'service', tenantId: T, expiresAt: '2020-01-01T00:00:00Z' },
      }),
      400,
      'VALIDATION_FAILED',
    );
  });

  it('rotates a token with an overlap: both work, then only the new one', async () => {
    const old = (
      await s.call('POST', '/v1/tokens', {
        token: s.adminToken,
        body: { name: 'rotating', role: 'service', tenantId: T },
      })
    ).body as { id: string; token: string };
    // A tenant admin cannot issue service tokens, so it cannot rotate one either.
    expectProblem(
      await s.call('POST', `/v1/tokens/${old.id}/rotate`, { token: t.admin, body: { overlapSeconds: 1 } }),
      403,
      'FORBIDDEN',
    );
    // A token may rotate itself.
    const rot = await s.call('POST', `/v1/tokens/${old.id}/rotate`, {
      token: old.token,
      body: { overlapSeconds: 1 },
    });
    expect(rot.status).toBe(201);
    expect(rot.body).toMatchObject({ replaces: old.id, role: 'service', tenantId: T, service: 'rotating' });
    expect(rot.body.token).not.toBe(old.token);
    expect((await enc(old.token)).status).toBe(200);
    expect((await enc(rot.body.token as string)).status).toBe(200);
    await sleep(1200);
    expectProblem(await enc(old.token), 401, 'UNAUTHENTICATED');
    expect((await enc(rot.body.token as string)).status).toBe(200);
    expect(await auditCount(s, { tenantId: T, action: 'token.rotate', outcome: 'success' })).toBe(1);
  });

  it('lists, rotates and revokes platform-level tokens, but never the last platform admin', async () => {
    const second = await s.call('POST', '/v1/tokens', {
      token: s.adminToken,
      body: { name: 'second admin', role: 'platform-admin' },
    });
    expect(second.status).toBe(201);
    const global = await s.call('POST', '/v1/tokens', {
      token: second.body.token as string,
      body: { name: 'global auditor', role: 'auditor' },
    });
    expect(global.status).toBe(201);
    const list = await s.call('GET', '/v1/tokens', { token: s.adminToken });
    const ids = (list.body.tokens as { id: string }[]).map((x) => x.id);
    expect(ids).toEqual(expect.arrayContaining([second.body.id, global.body.id]));
    expect(list.text).not.toContain(second.body.token as string);
    // The global auditor rotates itself; the old value ends at once.
    const rot = await s.call('POST', `/v1/tokens/${global.body.id as string}/rotate`, {
      token: global.body.token as string,
      body: { overlapSeconds: 0 },
    });
    expect(rot.status).toBe(201);
    expectProblem(await s.call('GET', '/v1/audit?limit=1', { token: global.body.token as string }), 401);
    expect((await s.call('GET', '/v1/audit?limit=1', { token: rot.body.token as string })).status).toBe(200);

    expect(
      (await s.call('DELETE', `/v1/tokens/${second.body.id as string}`, { token: s.adminToken })).status,
    ).toBe(204);
    expectProblem(await s.call('GET', '/v1/tokens', { token: second.body.token as string }), 401);
    const me = (list.body.tokens as { id: string; name: string }[]).find(
      (x) => x.name === 'bootstrap platform admin',
    )!;
    expectProblem(await s.call('DELETE', `/v1/tokens/${me.id}`, { token: s.adminToken }), 409, 'CONFLICT');
    expectProblem(await s.call('GET', '/v1/tokens', { token: t.admin }), 403, 'FORBIDDEN');
  });

  it("suspends a named service's access to this tenant only, audited, and lifts it", async () => {
    await s.tenant('sod-other');
    const billing = (
      await s.call('POST', '/v1/tokens', {
        token: s.adminToken,
        body: { name: 'billing on sod', role: 'service', service: 'billing', tenantId: T },
      })
    ).body.token as string;
    const billingOther = (
      await s.call('POST', '/v1/tokens', {
        token: s.adminToken,
        body: { name: 'billing on other', role: 'service', service: 'billing', tenantId: 'sod-other' },
      })
    ).body.token as string;
    const put = await s.call('PUT', `/v1/tenants/${T}/services/billing/suspension`, { token: t.admin });
    expect(put.body).toEqual({ tenantId: T, service: 'billing', suspended: true });
    expectProblem(await enc(billing), 403, 'FORBIDDEN');
    expect((await enc(t.service)).status).toBe(200);
    expect((await enc(billingOther, 'sod-other')).status).toBe(200);
    expect(await auditCount(s, { tenantId: T, action: 'service.suspend', outcome: 'success' })).toBe(1);
    expectProblem(
      await s.call('PUT', `/v1/tenants/sod-other/services/billing/suspension`, { token: t.admin }),
      403,
      'FORBIDDEN',
    );
    const del = await s.call('DELETE', `/v1/tenants/${T}/services/billing/suspension`, { token: t.admin });
    expect(del.body.suspended).toBe(false);
    expect((await enc(billing)).status).toBe(200);
  });

  it('restores a locked tenant only with two different tenant admins when its policy says so', async () => {
    const tr = await s.tenant('sod-two');
    const second = (
      await s.call('POST', '/v1/tokens', {
        token: tr.admin,
        body: { name: 'second admin', role: 'tenant-admin', tenantId: 'sod-two' },
      })
    ).body.token as string;
    expect(
      (
        await s.call('PUT', '/v1/tenants/sod-two/policy', {
          token: tr.admin,
          body: { restoreRequiresTwoAdmins: true },
        })
      ).body.restoreRequiresTwoAdmins,
    ).toBe(true);
    expect((await s.call('POST', '/v1/tenants/sod-two/revoke', { token: tr.admin })).status).toBe(200);
    const first = await s.call('POST', '/v1/tenants/sod-two/restore', { token: tr.admin });
    expect(first.status).toBe(202);
    expect(first.body).toMatchObject({ id: 'sod-two', state: 'locked', restore: 'pending' });
    // The same admin asking twice is still one admin.
    expect((await s.call('POST', '/v1/tenants/sod-two/restore', { token: tr.admin })).status).toBe(202);
    expectProblem(await enc(tr.service, 'sod-two'), 423, 'TENANT_LOCKED');
    const done = await s.call('POST', '/v1/tenants/sod-two/restore', { token: second });
    expect(done.status).toBe(200);
    expect(done.body).toEqual({ id: 'sod-two', state: 'active' });
    expect((await enc(tr.service, 'sod-two')).status).toBe(200);
    // A pending request older than 10 minutes does not count.
    await s.call('POST', '/v1/tenants/sod-two/revoke', { token: tr.admin });
    expect((await s.call('POST', '/v1/tenants/sod-two/restore', { token: tr.admin })).status).toBe(202);
    await sql(
      s,
      `UPDATE tenants SET restore_requested_at = now() - interval '11 minutes' WHERE id = 'sod-two'`,
    );
    expect((await s.call('POST', '/v1/tenants/sod-two/restore', { token: second })).status).toBe(202);
  });
});
