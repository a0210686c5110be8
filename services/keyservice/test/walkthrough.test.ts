import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startTestService, type TestService } from './harness.js';

describe('key service walk-through (in-process, real database)', () => {
  let s: TestService;
  beforeAll(async () => {
    s = await startTestService();
  });
  afterAll(async () => {
    await s?.close();
  });

  it('stores an Anthropic key, lists it masked, reveals it, and follows the customer key through revocation', async () => {
    const t = await s.tenant('acme');
    const value = 'sk-ant-api03-Zx9Qw8Er7Ty6Ui5Op4As3Df2Gh1Jk0LmNbVcXz';
    const put = await s.call('PUT', '/v1/tenants/acme/secrets/anthropic-prod', {
      token: t.service,
      body: { kind: 'anthropic', value },
    });
    expect(put.status).toBe(201);
    expect(put.body).toMatchObject({
      name: 'anthropic-prod',
      kind: 'anthropic',
      version: 1,
      hint: 'sk-ant-...VcXz',
    });
    expect(put.text).not.toContain(value);

    const list = await s.call('GET', '/v1/tenants/acme/secrets', { token: t.service });
    expect(list.status).toBe(200);
    expect(list.body.secrets).toHaveLength(1);
    expect(list.text).not.toContain(value);

    const reveal = await s.call('POST', '/v1/tenants/acme/secrets/anthropic-prod/reveal', {
      token: t.service,
      body: { purpose: 'llm-inference' },
    });
    expect(reveal.status).toBe(200);
    expect(reveal.body).toEqual({ value, version: 1 });

    // Strict mode so the revocation is seen on the next call rather than after the cache window.
    expect(
      (await s.call('PUT', '/v1/tenants/acme/policy', { token: t.admin, body: { cacheTtlSeconds: 0 } }))
        .status,
    ).toBe(200);
    expect(
      (await s.call('POST', `/v1/dev/local-kms/keys/${t.keyName}/disable`, { token: s.adminToken })).status,
    ).toBe(200);
    const refused = await s.call('POST', '/v1/tenants/acme/secrets/anthropic-prod/reveal', {
      token: t.service,
      body: {},
    });
    expect(refused.status).toBe(403);
    expect(refused.headers.get('content-type')).toContain('application/problem+json');
    expect(refused.body.code).toBe('KEY_REVOKED');
    expect(refused.text).not.toContain(value);

    expect(
      (await s.call('POST', `/v1/dev/local-kms/keys/${t.keyName}/enable`, { token: s.adminToken })).status,
    ).toBe(200);
    const again = await s.call('POST', '/v1/tenants/acme/secrets/anthropic-prod/reveal', {
      token: t.service,
      body: {},
    });
    expect(again.body).toEqual({ value, version: 1 });

    const audit = await s.call('GET', '/v1/audit?tenantId=acme&action=secret.reveal', { token: t.auditor });
    expect(audit.status).toBe(200);
    expect(audit.body.events.map((e: { outcome: string }) => e.outcome)).toEqual([
      'success',
      'failure',
      'success',
    ]);
    const verify = await s.call('GET', '/v1/audit/verify?tenantId=acme', { token: t.auditor });
    expect(verify.body).toMatchObject({ ok: true });
    expect(verify.body.checked).toBeGreaterThan(5);
  });
});
