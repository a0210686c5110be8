import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { auditCount, b64, expectProblem, sql } from './acceptance-helpers.js';
import { startTestService, type Reply, type TestService } from './harness.js';
import { describeOnRealPostgres } from '../../../test/support/real-postgres.js';

type Tokens = Awaited<ReturnType<TestService['tenant']>>;

/** Two ways a real PostgreSQL refuses audit inserts while everything else keeps working. */
const FAULTS = {
  'a trigger that raises on INSERT': {
    on: [
      `CREATE OR REPLACE FUNCTION test_audit_fault() RETURNS trigger LANGUAGE plpgsql AS
         $$ BEGIN RAISE EXCEPTION 'injected audit fault'; END $$`,
      `CREATE TRIGGER test_audit_fault BEFORE INSERT ON audit_events FOR EACH ROW EXECUTE FUNCTION test_audit_fault()`,
    ],
    off: [`DROP TRIGGER test_audit_fault ON audit_events`, `DROP FUNCTION test_audit_fault()`],
  },
  'a NOT VALID CHECK constraint every new row violates': {
    on: [`ALTER TABLE audit_events ADD CONSTRAINT test_audit_fault CHECK (seq < 0) NOT VALID`],
    off: [`ALTER TABLE audit_events DROP CONSTRAINT test_audit_fault`],
  },
} as const;

describeOnRealPostgres('fail-closed audit (G4) on a real PostgreSQL', () => {
  let s: TestService;
  let t: Tokens;
  let strict: Tokens;
  let ct: string;
  let strictCt: string;
  const plaintext = 'fail-closed plaintext canary 7f3a';
  const secret = 'sk-ant-api03-FailClosedCanary0123456789abcd';

  beforeAll(async () => {
    s = await startTestService();
    t = await s.tenant('fc-cached');
    strict = await s.tenant('fc-strict');
    expect(
      (
        await s.call('PUT', '/v1/tenants/fc-strict/policy', {
          token: strict.admin,
          body: { cacheTtlSeconds: 0 },
        })
      ).status,
    ).toBe(200);
    const enc = await s.call('POST', '/v1/tenants/fc-cached/encrypt', {
      token: t.service,
      body: { plaintext: b64(plaintext), context: { row: '1' } },
    });
    ct = enc.body.ciphertext as string;
    strictCt = (
      await s.call('POST', '/v1/tenants/fc-strict/encrypt', {
        token: strict.service,
        body: { plaintext: b64(plaintext) },
      })
    ).body.ciphertext as string;
    for (const [tenant, tok] of [
      ['fc-cached', t.service],
      ['fc-strict', strict.service],
    ] as const) {
      const put = await s.call('PUT', `/v1/tenants/${tenant}/secrets/llm`, {
        token: tok,
        body: { kind: 'anthropic', value: secret },
      });
      expect(put.status).toBe(201);
    }
  });
  afterAll(async () => {
    await s?.close();
  });

  const decrypt = () =>
    s.call('POST', '/v1/tenants/fc-cached/decrypt', {
      token: t.service,
      body: { ciphertext: ct, context: { row: '1' } },
    });
  const decryptBatch = () =>
    s.call('POST', '/v1/tenants/fc-cached/decrypt/batch', {
      token: t.service,
      body: { items: [{ ciphertext: ct, context: { row: '1' } }] },
    });
  const reveal = (tenant = 'fc-cached', tok = t.service) =>
    s.call('POST', `/v1/tenants/${tenant}/secrets/llm/reveal`, {
      token: tok,
      body: { purpose: 'llm-inference' },
    });
  const strictDecrypt = () =>
    s.call('POST', '/v1/tenants/fc-strict/decrypt', {
      token: strict.service,
      body: { ciphertext: strictCt },
    });

  const expectRefused = (r: Reply) => {
    expectProblem(r, 503, 'AUDIT_UNAVAILABLE');
    expect(r.headers.get('retry-after')).toBeTruthy();
    expect(r.text).not.toContain(plaintext);
    expect(r.text).not.toContain(b64(plaintext));
    expect(r.text).not.toContain(secret);
  };

  for (const [name, fault] of Object.entries(FAULTS)) {
    it(`refuses decrypts, reveals and writes while ${name} blocks audit inserts, and recovers when it is removed`, async () => {
      // Warm path first: the cache holds the tenant key, so only the decrypt's own audit event can fail.
      expect((await decrypt()).body).toEqual({ plaintext: b64(plaintext) });
      expect((await reveal()).body).toEqual({ value: secret, version: 1 });
      const rowsBefore = await auditCount(s, {});
      const versionsBefore = await sql(
        s,
        `SELECT tenant_id, name, version FROM secret_versions ORDER BY 1, 2, 3`,
      );
      const logsBefore = s.logs.length;

      for (const q of fault.on) await sql(s, q);
      try {
        expectRefused(await decrypt());
        expectRefused(await decryptBatch());
        expectRefused(await reveal());
        // Cold path: strict mode unwraps on every call; the unwrap's audit event fails first.
        expectRefused(await strictDecrypt());
        expectRefused(await reveal('fc-strict', strict.service));
        // Writes and admin actions are refused too, and nothing is stored without its event.
        expectRefused(
          await s.call('PUT', '/v1/tenants/fc-cached/secrets/llm', {
            token: t.service,
            body: { kind: 'anthropic', value: 'sk-ant-api03-NotStoredWithoutAudit000000' },
          }),
        );
        expectRefused(
          await s.call('PUT', '/v1/tenants/fc-cached/policy', {
            token: t.admin,
            body: { cacheTtlSeconds: 5 },
          }),
        );
        // A denial that cannot be audited is still a refusal.
        expectRefused(
          await s.call('POST', '/v1/tenants/fc-cached/decrypt', {
            token: strict.service,
            body: { ciphertext: ct },
          }),
        );
      } finally {
        for (const q of fault.off) await sql(s, q);
      }

      expect(await auditCount(s, {})).toBe(rowsBefore);
      expect(await sql(s, `SELECT tenant_id, name, version FROM secret_versions ORDER BY 1, 2, 3`)).toEqual(
        versionsBefore,
      );
      expect(
        (await s.call('GET', '/v1/tenants/fc-cached/policy', { token: t.admin })).body.cacheTtlSeconds,
      ).toBe(60);
      const newLogs = s.logs.slice(logsBefore).join('');
      expect(newLogs).toContain('audit batch failed');
      expect(newLogs).not.toContain(plaintext);
      expect(newLogs).not.toContain(b64(plaintext));
      expect(newLogs).not.toContain(secret);

      // Recovery: the same calls work again, each with its event, and the chains still verify.
      const unwrapsBefore = await auditCount(s, {
        tenantId: 'fc-strict',
        action: 'kms.unwrap',
        outcome: 'success',
      });
      expect((await decrypt()).body).toEqual({ plaintext: b64(plaintext) });
      expect((await decryptBatch()).body).toEqual({ results: [{ ok: true, plaintext: b64(plaintext) }] });
      expect((await reveal()).body).toEqual({ value: secret, version: 1 });
      expect((await strictDecrypt()).body).toEqual({ plaintext: b64(plaintext) });
      expect(await auditCount(s, { tenantId: 'fc-strict', action: 'kms.unwrap', outcome: 'success' })).toBe(
        unwrapsBefore + 1,
      );
      expect(await auditCount(s, {})).toBeGreaterThanOrEqual(rowsBefore + 5);
      for (const tenant of ['fc-cached', 'fc-strict']) {
        const v = await s.call('GET', `/v1/audit/verify?tenantId=${tenant}`, { token: s.adminToken });
        expect(v.body).toMatchObject({ ok: true });
      }
    });
  }
});
