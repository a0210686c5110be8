import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { auditCount, expectProblem, sql } from './acceptance-helpers.js';
import { startTestService, type TestService } from './harness.js';

type Tokens = Awaited<ReturnType<TestService['tenant']>>;

describe('secret versions and deletion', () => {
  let s: TestService;
  let t: Tokens;
  const path = '/v1/tenants/sv/secrets/openai-prod';
  const v1 = 'sk-proj-VersionOne0123456789abcdefghijAAAA';
  const v2 = 'sk-proj-VersionTwo0123456789abcdefghijBBBB';
  const v3 = 'sk-proj-AfterDelete0123456789abcdefghiCCCC';

  beforeAll(async () => {
    s = await startTestService();
    t = await s.tenant('sv');
  });
  afterAll(async () => {
    await s?.close();
  });

  const reveal = (body: Record<string, unknown> = {}) =>
    s.call('POST', `${path}/reveal`, { token: t.service, body });

  it('PUT creates version 1 then 2; both stay readable, the current one is the newest', async () => {
    const first = await s.call('PUT', path, {
      token: t.service,
      body: { kind: 'openai', value: v1, labels: { env: 'prod' } },
    });
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({
      name: 'openai-prod',
      kind: 'openai',
      version: 1,
      hint: 'sk-...AAAA',
      labels: { env: 'prod' },
    });
    const second = await s.call('PUT', path, { token: t.service, body: { kind: 'openai', value: v2 } });
    expect(second.status).toBe(200);
    expect(second.body).toMatchObject({ version: 2, hint: 'sk-...BBBB' });
    expect(second.body.fingerprint).not.toBe(first.body.fingerprint);

    const meta = await s.call('GET', path, { token: t.admin });
    expect(meta.body).toMatchObject({ version: 2, hint: 'sk-...BBBB' });
    const list = await s.call('GET', '/v1/tenants/sv/secrets', { token: t.service });
    expect(list.body.secrets).toHaveLength(1);
    expect(list.body.secrets[0]).toMatchObject({ name: 'openai-prod', version: 2 });

    expect((await reveal()).body).toEqual({ value: v2, version: 2 });
    expect((await reveal({ version: 1 })).body).toEqual({ value: v1, version: 1 });
    expect((await reveal({ version: 2 })).body).toEqual({ value: v2, version: 2 });
    expectProblem(await reveal({ version: 3 }), 404, 'NOT_FOUND');
    expect(await auditCount(s, { tenantId: 'sv', action: 'secret.put', outcome: 'success' })).toBe(2);

    const rows = await sql<{ version: number; ciphertext: Buffer }>(
      s,
      `SELECT version, ciphertext FROM secret_versions WHERE tenant_id = 'sv' AND name = 'openai-prod' ORDER BY version`,
    );
    expect(rows.map((r) => r.version)).toEqual([1, 2]);
    expect(rows[0]!.ciphertext.equals(rows[1]!.ciphertext)).toBe(false);
  });

  it('binds each stored ciphertext to its version: swapping versions in the database fails closed', async () => {
    await sql(
      s,
      `UPDATE secret_versions SET ciphertext = (SELECT ciphertext FROM secret_versions WHERE tenant_id = 'sv' AND name = 'openai-prod' AND version = 2)
       WHERE tenant_id = 'sv' AND name = 'openai-prod' AND version = 1
       RETURNING version`,
    );
    const swapped = await reveal({ version: 1 });
    expectProblem(swapped, 400, 'INVALID_CIPHERTEXT');
    expect(swapped.text).not.toContain(v2);
  });

  it('DELETE removes every version: reveal, metadata and listing answer 404 / empty afterwards', async () => {
    const del = await s.call('DELETE', path, { token: t.admin });
    expect(del.status).toBe(204);
    for (const body of [{}, { version: 1 }, { version: 2 }])
      expectProblem(await reveal(body), 404, 'NOT_FOUND');
    expectProblem(await s.call('GET', path, { token: t.service }), 404, 'NOT_FOUND');
    expect((await s.call('GET', '/v1/tenants/sv/secrets', { token: t.service })).body.secrets).toEqual([]);
    expectProblem(await s.call('DELETE', path, { token: t.admin }), 404, 'NOT_FOUND');
    const left = await sql<{ n: string }>(
      s,
      `SELECT count(*)::text AS n FROM secret_versions WHERE tenant_id = 'sv'`,
    );
    expect(left[0]?.n).toBe('0');
    expect(await auditCount(s, { tenantId: 'sv', action: 'secret.delete', outcome: 'success' })).toBe(1);
    expect(
      await auditCount(s, {
        tenantId: 'sv',
        action: 'secret.reveal',
        outcome: 'failure',
        errorCode: 'NOT_FOUND',
      }),
    ).toBeGreaterThanOrEqual(3);

    // A new secret of the same name starts over; the old versions do not come back.
    const again = await s.call('PUT', path, { token: t.service, body: { kind: 'openai', value: v3 } });
    expect(again.body.version).toBe(1);
    expect((await reveal()).body).toEqual({ value: v3, version: 1 });
    expectProblem(await reveal({ version: 2 }), 404, 'NOT_FOUND');
  });
});
