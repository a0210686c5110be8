import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startTestService, type TestService } from './harness.js';

/**
 * Purpose policy matrix: for decrypt and secret reveal, an allowed purpose succeeds, a purpose
 * outside the list and a missing purpose are refused with PURPOSE_NOT_ALLOWED; every outcome is
 * in the audit log with the declared purpose.
 */
describe('purpose policy matrix (allowed / denied / missing), each audited', () => {
  let s: TestService;
  let t: Awaited<ReturnType<TestService['tenant']>>;
  let special: { id: string; token: string };
  let ciphertext: string;

  beforeAll(async () => {
    s = await startTestService();
    t = await s.tenant('pp-acme');
    const issued = await s.call('POST', '/v1/tokens', {
      token: s.adminToken,
      body: { name: 'pp special', role: 'service', tenantId: 'pp-acme' },
    });
    expect(issued.status).toBe(201);
    special = { id: issued.body.id as string, token: issued.body.token as string };
    const enc = await s.call('POST', '/v1/tenants/pp-acme/encrypt', {
      token: t.service,
      body: { plaintext: Buffer.from('card 4111').toString('base64') },
    });
    ciphertext = enc.body.ciphertext as string;
    const put = await s.call('PUT', '/v1/tenants/pp-acme/secrets/openai-prod', {
      token: t.service,
      body: { kind: 'openai', value: 'sk-proj-Qw8Er7Ty6Ui5Op4As3Df2Gh1Jk0LmNbVcXz' },
    });
    expect(put.status).toBe(201);
    const policy = await s.call('PUT', '/v1/tenants/pp-acme/policy', {
      token: t.admin,
      body: {
        allowedPurposes: {
          byRole: { service: ['billing', 'llm-inference'] },
          byToken: { [special.id]: ['support'] },
        },
      },
    });
    expect(policy.status).toBe(200);
  });
  afterAll(async () => {
    await s?.close();
  });

  const decrypt = (token: string, purpose?: string) =>
    s.call('POST', '/v1/tenants/pp-acme/decrypt', {
      token,
      body: { ciphertext, ...(purpose ? { purpose } : {}) },
    });
  const reveal = (token: string, purpose?: string) =>
    s.call('POST', '/v1/tenants/pp-acme/secrets/openai-prod/reveal', {
      token,
      body: purpose ? { purpose } : {},
    });

  type Case = [string, () => string, string | undefined, 'allowed' | 'denied'];
  const cases: Case[] = [
    ['role list, allowed purpose', () => t.service, 'billing', 'allowed'],
    ['role list, purpose not in list', () => t.service, 'marketing', 'denied'],
    ['role list, missing purpose', () => t.service, undefined, 'denied'],
    ['token list overrides role list: allowed', () => special.token, 'support', 'allowed'],
    ['token list overrides role list: role purpose refused', () => special.token, 'billing', 'denied'],
    ['token list, missing purpose', () => special.token, undefined, 'denied'],
  ];

  for (const [op, call, action, resource] of [
    ['decrypt', decrypt, 'decrypt', 'tenants/pp-acme/ciphertexts'],
    ['reveal', reveal, 'secret.reveal', 'tenants/pp-acme/secrets/openai-prod'],
  ] as const) {
    for (const [name, token, purpose, expected] of cases) {
      it(`${op}: ${name} -> ${expected}, audited`, async () => {
        const r = await call(token(), purpose);
        if (expected === 'allowed') expect(r.status).toBe(200);
        else {
          expect(r.status).toBe(403);
          expect(r.body.code).toBe('PURPOSE_NOT_ALLOWED');
          expect(r.text).not.toContain('sk-proj');
        }
        const requestId = r.headers.get('x-request-id') as string;
        const log = await s.call(
          'GET',
          `/v1/audit?tenantId=pp-acme&action=${action}&resource=${encodeURIComponent(resource)}&limit=500`,
          {
            token: t.auditor,
          },
        );
        expect(log.status).toBe(200);
        const mine = (
          log.body.events as {
            requestId: string;
            outcome: string;
            purpose: string | null;
            errorCode: string | null;
          }[]
        ).filter((e) => e.requestId === requestId);
        expect(mine).toHaveLength(1);
        expect(mine[0]).toMatchObject({
          outcome: expected === 'allowed' ? 'success' : 'denied',
          purpose: purpose ?? null,
          errorCode: expected === 'allowed' ? null : 'PURPOSE_NOT_ALLOWED',
        });
      });
    }
  }

  it('filters the audit log by purpose and by resource (secret name)', async () => {
    const byPurpose = await s.call('GET', '/v1/audit?tenantId=pp-acme&purpose=support', { token: t.auditor });
    expect(byPurpose.body.events.length).toBeGreaterThanOrEqual(2);
    expect(byPurpose.body.events.every((e: { purpose: string }) => e.purpose === 'support')).toBe(true);
    const bySecret = await s.call(
      'GET',
      `/v1/audit?tenantId=pp-acme&resource=${encodeURIComponent('tenants/pp-acme/secrets/openai-prod')}`,
      { token: t.auditor },
    );
    expect(bySecret.body.events.length).toBeGreaterThanOrEqual(7);
    expect(
      bySecret.body.events.every(
        (e: { resource: string }) => e.resource === 'tenants/pp-acme/secrets/openai-prod',
      ),
    ).toBe(true);
  });

  it('lists KMS unwraps for reconciliation, scoped to the auditor tenant', async () => {
    const r = await s.call('GET', '/v1/audit/kms-calls?tenantId=pp-acme', { token: t.auditor });
    expect(r.status).toBe(200);
    expect(r.body.calls.length).toBeGreaterThanOrEqual(1);
    expect(r.body.calls[0]).toMatchObject({ operation: 'kms.unwrap', provider: 'local', outcome: 'success' });
    expect(r.body.calls[0].keyRef).toContain('pp-acme-cmk');
    const other = await s.tenant('pp-other');
    expect(
      (await s.call('GET', '/v1/audit/kms-calls?tenantId=pp-acme', { token: other.auditor })).status,
    ).toBe(403);
  });
});
