import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { b64, expectProblem } from './acceptance-helpers.js';
import { startTestService, type TestService } from './harness.js';

describe('one service token per platform service (issue 13)', () => {
  let s: TestService;
  beforeAll(async () => {
    s = await startTestService();
    for (const t of ['sh-a', 'sh-b', 'sh-c']) await s.tenant(t);
  });
  afterAll(async () => {
    await s?.close();
  });
  const enc = (token: string, tenant: string) =>
    s.call('POST', `/v1/tenants/${tenant}/encrypt`, { token, body: { plaintext: b64('x') } });

  it('acts on the tenants it was granted and no other, each subject to its own suspension', async () => {
    const r = await s.call('POST', '/v1/tokens', {
      token: s.adminToken,
      body: { name: 'LLM gateway', role: 'service', service: 'llm-gateway', tenantIds: ['sh-a', 'sh-b'] },
    });
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({ tenantId: null, service: 'llm-gateway', grants: ['sh-a', 'sh-b'] });
    const token = r.body.token as string;
    expect((await enc(token, 'sh-a')).status).toBe(200);
    expect((await enc(token, 'sh-b')).status).toBe(200);
    expectProblem(await enc(token, 'sh-c'), 403, 'FORBIDDEN');
    expectProblem(await s.call('GET', '/v1/tokens', { token }), 403, 'FORBIDDEN');

    const aAdmin = (
      await s.call('POST', '/v1/tokens', {
        token: s.adminToken,
        body: { name: 'a admin 2', role: 'tenant-admin', tenantId: 'sh-a' },
      })
    ).body.token as string;
    expect(
      (await s.call('PUT', '/v1/tenants/sh-a/services/llm-gateway/suspension', { token: aAdmin })).status,
    ).toBe(200);
    expectProblem(await enc(token, 'sh-a'), 403, 'FORBIDDEN');
    expect((await enc(token, 'sh-b')).status).toBe(200);
  });

  it('for all tenants: only a platform admin issues it, and it still obeys each kill switch', async () => {
    const r = await s.call('POST', '/v1/tokens', {
      token: s.adminToken,
      body: { name: 'indexer', role: 'service', allTenants: true },
    });
    expect(r.status).toBe(201);
    expect(r.body.grants).toBe('all');
    const token = r.body.token as string;
    for (const t of ['sh-b', 'sh-c']) expect((await enc(token, t)).status).toBe(200);
    const cAdmin = (
      await s.call('POST', '/v1/tokens', {
        token: s.adminToken,
        body: { name: 'c admin 2', role: 'tenant-admin', tenantId: 'sh-c' },
      })
    ).body.token as string;
    expect((await s.call('POST', '/v1/tenants/sh-c/revoke', { token: cAdmin })).status).toBe(200);
    expectProblem(await enc(token, 'sh-c'), 423, 'TENANT_LOCKED');
    // No shared token may be issued naming a locked tenant.
    expectProblem(
      await s.call('POST', '/v1/tokens', {
        token: s.adminToken,
        body: { name: 'x', role: 'service', tenantIds: ['sh-b', 'sh-c'] },
      }),
      423,
      'TENANT_LOCKED',
    );
    expectProblem(
      await s.call('POST', '/v1/tokens', {
        token: cAdmin,
        body: { name: 'x', role: 'service', tenantIds: ['sh-c'] },
      }),
      403,
      'FORBIDDEN',
    );
    expectProblem(
      await s.call('POST', '/v1/tokens', {
        token: s.adminToken,
        body: { name: 'x', role: 'service', tenantId: 'sh-b', allTenants: true },
      }),
      400,
      'VALIDATION_FAILED',
    );
    // A platform admin revokes a shared token like any platform-level token.
    expect(
      (await s.call('DELETE', `/v1/tokens/${r.body.id as string}`, { token: s.adminToken })).status,
    ).toBe(204);
    expectProblem(await enc(token, 'sh-b'), 401, 'UNAUTHENTICATED');
  });
});
