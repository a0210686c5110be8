import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Express } from 'express';
import { auditCount, b64, expectProblem, kmsCalls, sql } from './acceptance-helpers.js';
import { startTestService, type TestService } from './harness.js';

type Tokens = Awaited<ReturnType<TestService['tenant']>>;

interface RouteCase {
  method: string;
  /** Route template as express knows it (checked against the app's router). */
  template: string;
  path: string;
  body?: unknown;
}

/** Every `METHOD template` the app serves, read from express's own router (so new routes show up). */
function servedRoutes(app: Express): string[] {
  const out: string[] = [];
  type Layer = { route?: { path: string; methods: Record<string, boolean> }; handle?: { stack?: Layer[] } };
  const walk = (stack: Layer[]) => {
    for (const layer of stack) {
      if (layer.route) {
        for (const [m, on] of Object.entries(layer.route.methods))
          if (on && m !== '_all') out.push(`${m.toUpperCase()} ${layer.route.path}`);
      } else if (layer.handle?.stack) walk(layer.handle.stack);
    }
  };
  walk((app as unknown as { router: { stack: Layer[] } }).router.stack);
  return out;
}

describe('tenant isolation (G7) and ciphertext binding (G5)', () => {
  let s: TestService;
  let a: Tokens;
  let b: Tokens;
  let bCiphertext: string;
  let bServiceTokenId: string;
  const bSecret = 'sk-ant-api03-TenantBOnly0123456789abcdefXYZ';

  beforeAll(async () => {
    s = await startTestService();
    a = await s.tenant('xt-a');
    b = await s.tenant('xt-b');
    const enc = await s.call('POST', '/v1/tenants/xt-b/encrypt', {
      token: b.service,
      body: { plaintext: b64('tenant b record'), context: { record: 'r1' } },
    });
    expect(enc.status).toBe(200);
    bCiphertext = enc.body.ciphertext as string;
    const put = await s.call('PUT', '/v1/tenants/xt-b/secrets/b-key', {
      token: b.service,
      body: { kind: 'anthropic', value: bSecret },
    });
    expect(put.status).toBe(201);
    const toks = await s.call('GET', '/v1/tenants/xt-b/tokens', { token: b.admin });
    bServiceTokenId = (toks.body.tokens as { id: string; role: string }[]).find(
      (t) => t.role === 'service',
    )!.id;
  });
  afterAll(async () => {
    await s?.close();
  });

  const tenantRoutes = (t: string): RouteCase[] => [
    { method: 'GET', template: '/v1/tenants/:tenantId', path: `/v1/tenants/${t}` },
    {
      method: 'PUT',
      template: '/v1/tenants/:tenantId/cmk',
      path: `/v1/tenants/${t}/cmk`,
      body: { provider: 'local', keyRef: 'local:xt-a-cmk' },
    },
    { method: 'GET', template: '/v1/tenants/:tenantId/cmk', path: `/v1/tenants/${t}/cmk` },
    { method: 'GET', template: '/v1/tenants/:tenantId/policy', path: `/v1/tenants/${t}/policy` },
    {
      method: 'PUT',
      template: '/v1/tenants/:tenantId/policy',
      path: `/v1/tenants/${t}/policy`,
      body: { cacheTtlSeconds: 0 },
    },
    { method: 'GET', template: '/v1/tenants/:tenantId/tokens', path: `/v1/tenants/${t}/tokens` },
    {
      method: 'DELETE',
      template: '/v1/tenants/:tenantId/tokens/:tokenId',
      path: `/v1/tenants/${t}/tokens/${bServiceTokenId}`,
    },
    {
      method: 'POST',
      template: '/v1/tenants/:tenantId/encrypt',
      path: `/v1/tenants/${t}/encrypt`,
      body: { plaintext: b64('x') },
    },
    {
      method: 'POST',
      template: '/v1/tenants/:tenantId/decrypt',
      path: `/v1/tenants/${t}/decrypt`,
      body: { ciphertext: bCiphertext, context: { record: 'r1' } },
    },
    {
      method: 'POST',
      template: '/v1/tenants/:tenantId/encrypt/batch',
      path: `/v1/tenants/${t}/encrypt/batch`,
      body: { items: [{ plaintext: b64('x') }] },
    },
    {
      method: 'POST',
      template: '/v1/tenants/:tenantId/decrypt/batch',
      path: `/v1/tenants/${t}/decrypt/batch`,
      body: { items: [{ ciphertext: bCiphertext, context: { record: 'r1' } }] },
    },
    {
      method: 'PUT',
      template: '/v1/tenants/:tenantId/secrets/:name',
      path: `/v1/tenants/${t}/secrets/b-key`,
      body: { kind: 'anthropic', value: 'sk-ant-api03-Overwritten000000000000000' },
    },
    { method: 'GET', template: '/v1/tenants/:tenantId/secrets', path: `/v1/tenants/${t}/secrets` },
    {
      method: 'GET',
      template: '/v1/tenants/:tenantId/secrets/:name',
      path: `/v1/tenants/${t}/secrets/b-key`,
    },
    {
      method: 'POST',
      template: '/v1/tenants/:tenantId/secrets/:name/reveal',
      path: `/v1/tenants/${t}/secrets/b-key/reveal`,
      body: {},
    },
    {
      method: 'DELETE',
      template: '/v1/tenants/:tenantId/secrets/:name',
      path: `/v1/tenants/${t}/secrets/b-key`,
    },
    {
      method: 'POST',
      template: '/v1/tenants/:tenantId/tenant-key/rotate',
      path: `/v1/tenants/${t}/tenant-key/rotate`,
    },
    {
      method: 'POST',
      template: '/v1/tenants/:tenantId/tenant-key/retire',
      path: `/v1/tenants/${t}/tenant-key/retire`,
      body: { minVersion: 1 },
    },
    {
      method: 'GET',
      template: '/v1/tenants/:tenantId/jobs/:jobId',
      path: `/v1/tenants/${t}/jobs/job_000000000000000000000000`,
    },
    {
      method: 'GET',
      template: '/v1/tenants/:tenantId/cmk/policy',
      path: `/v1/tenants/${t}/cmk/policy?provider=aws-kms`,
    },
    { method: 'POST', template: '/v1/tenants/:tenantId/revoke', path: `/v1/tenants/${t}/revoke` },
    { method: 'POST', template: '/v1/tenants/:tenantId/restore', path: `/v1/tenants/${t}/restore` },
    {
      method: 'PUT',
      template: '/v1/tenants/:tenantId/services/:service/suspension',
      path: `/v1/tenants/${t}/services/billing/suspension`,
    },
    {
      method: 'DELETE',
      template: '/v1/tenants/:tenantId/services/:service/suspension',
      path: `/v1/tenants/${t}/services/billing/suspension`,
    },
    { method: 'GET', template: '/v1/tenants/:tenantId/rate-limit', path: `/v1/tenants/${t}/rate-limit` },
    {
      method: 'PUT',
      template: '/v1/tenants/:tenantId/rate-limit',
      path: `/v1/tenants/${t}/rate-limit`,
      body: { rps: 100000, burst: 100000 },
    },
    { method: 'DELETE', template: '/v1/tenants/:tenantId/rate-limit', path: `/v1/tenants/${t}/rate-limit` },
    {
      method: 'POST',
      template: '/v1/tenants/:tenantId/audit/sinks',
      path: `/v1/tenants/${t}/audit/sinks`,
      body: { url: 'https://siem.example.com/hook' },
    },
    { method: 'GET', template: '/v1/tenants/:tenantId/audit/sinks', path: `/v1/tenants/${t}/audit/sinks` },
    {
      method: 'GET',
      template: '/v1/tenants/:tenantId/audit/sinks/:sinkId',
      path: `/v1/tenants/${t}/audit/sinks/snk_00000000000000000000`,
    },
    {
      method: 'DELETE',
      template: '/v1/tenants/:tenantId/audit/sinks/:sinkId',
      path: `/v1/tenants/${t}/audit/sinks/snk_00000000000000000000`,
    },
    { method: 'GET', template: '/v1/tenants/:tenantId/usage', path: `/v1/tenants/${t}/usage` },
    { method: 'GET', template: '/v1/tenants/:tenantId/ai/budgets', path: `/v1/tenants/${t}/ai/budgets` },
    {
      method: 'PUT',
      template: '/v1/tenants/:tenantId/ai/budget',
      path: `/v1/tenants/${t}/ai/budget`,
      body: { period: 'day', limitMicros: 0 },
    },
    {
      method: 'DELETE',
      template: '/v1/tenants/:tenantId/ai/budget',
      path: `/v1/tenants/${t}/ai/budget?period=day`,
    },
    {
      method: 'PUT',
      template: '/v1/tenants/:tenantId/secrets/:name/budget',
      path: `/v1/tenants/${t}/secrets/b-key/budget`,
      body: { period: 'month', limitMicros: 0 },
    },
    {
      method: 'DELETE',
      template: '/v1/tenants/:tenantId/secrets/:name/budget',
      path: `/v1/tenants/${t}/secrets/b-key/budget?period=month`,
    },
    {
      method: 'POST',
      template: '/v1/tenants/:tenantId/ai/:secretName/*upstreamPath',
      path: `/v1/tenants/${t}/ai/gpt/v1/chat/completions`,
      body: { model: 'gpt-4o-mini', messages: [] },
    },
    {
      method: 'GET',
      template: '/v1/tenants/:tenantId/ai/:secretName/*upstreamPath',
      path: `/v1/tenants/${t}/ai/gpt/v1/models`,
    },
    {
      method: 'DELETE',
      template: '/v1/tenants/:tenantId/ai/:secretName/*upstreamPath',
      path: `/v1/tenants/${t}/ai/gpt/v1/responses/resp_0123456789`,
    },
    // Last: if this one were allowed, tenant B would be crypto-shredded and every later check fails.
    { method: 'DELETE', template: '/v1/tenants/:tenantId', path: `/v1/tenants/${t}` },
  ];
  // Routes that name the tenant in the query or body rather than the path.
  const otherRoutes = (t: string): RouteCase[] => [
    { method: 'GET', template: '/v1/audit', path: `/v1/audit?tenantId=${t}` },
    { method: 'GET', template: '/v1/audit/verify', path: `/v1/audit/verify?tenantId=${t}` },
    { method: 'GET', template: '/v1/audit/export', path: `/v1/audit/export?tenantId=${t}` },
    { method: 'GET', template: '/v1/audit/kms-calls', path: `/v1/audit/kms-calls?tenantId=${t}` },
    { method: 'GET', template: '/v1/audit/checkpoints', path: `/v1/audit/checkpoints?tenantId=${t}` },
    {
      method: 'POST',
      template: '/v1/audit/checkpoints',
      path: '/v1/audit/checkpoints',
      body: { tenantId: t },
    },
    {
      method: 'POST',
      template: '/v1/tokens',
      path: '/v1/tokens',
      body: { name: 'stolen', role: 'service', tenantId: t },
    },
    {
      // Rotating tenant B's service token would hand tenant A a working token of tenant B.
      method: 'POST',
      template: '/v1/tokens/:tokenId/rotate',
      path: `/v1/tokens/${bServiceTokenId}/rotate`,
      body: { overlapSeconds: 0 },
    },
  ];

  /** The matrix, restricted to what this build serves (coverage of what it serves is checked below). */
  const matrix = (t: string): RouteCase[] => {
    const served = new Set(servedRoutes(s.service.app));
    return [...tenantRoutes(t), ...otherRoutes(t)].filter((c) => served.has(`${c.method} ${c.template}`));
  };

  it('covers every tenant route the app serves, and every audit route that takes a tenant', () => {
    const served = servedRoutes(s.service.app);
    const covered = new Set(
      [...tenantRoutes('xt-b'), ...otherRoutes('xt-b')].map((c) => `${c.method} ${c.template}`),
    );
    const tenantScoped = served.filter((r) => r.includes(':tenantId') || / \/v1\/(audit|tokens)/.test(r));
    // Routes that name no tenant at all.
    const exempt = new Set([
      'GET /v1/audit/public-key',
      'GET /v1/audit/public-keys',
      'GET /v1/tokens',
      'DELETE /v1/tokens/:tokenId',
    ]);
    expect(tenantScoped.length).toBeGreaterThan(18);
    expect(tenantScoped.filter((r) => !covered.has(r) && !exempt.has(r))).toEqual([]);
    // The matrix never silently shrinks below what issue 3 lists.
    expect(matrix('xt-b').length).toBeGreaterThanOrEqual(19);
  });

  it("refuses tenant A's service, tenant-admin and auditor tokens on every tenant-B route, with no KMS call, audited as denied", async () => {
    const cases = matrix('xt-b');
    const tokens = { service: a.service, 'tenant-admin': a.admin, auditor: a.auditor };
    const kmsBefore = await kmsCalls(s);
    let refused = 0;
    for (const [role, token] of Object.entries(tokens)) {
      for (const c of cases) {
        const deniedBefore = await auditCount(s, { tenantId: 'xt-b', outcome: 'denied' });
        const r = await s.call(c.method, c.path, {
          token,
          ...(c.body !== undefined ? { body: c.body } : {}),
        });
        const what = `${role} ${c.method} ${c.path}`;
        expect({ what, status: [403, 404].includes(r.status) }).toEqual({ what, status: true });
        expectProblem(r, [403, 404], ['FORBIDDEN', 'NOT_FOUND']);
        expect(r.text).not.toContain(bSecret);
        expect(r.text).not.toContain(b64('tenant b record'));
        const deniedAfter = await auditCount(s, { tenantId: 'xt-b', outcome: 'denied' });
        expect({ what, denied: deniedAfter - deniedBefore }).toEqual({ what, denied: 1 });
        refused++;
      }
    }
    expect(refused).toBe(3 * cases.length);
    expect(await kmsCalls(s)).toBe(kmsBefore);

    // The security team sees the same denials through the API, all by tenant A's tokens.
    const aTokens = await s.call('GET', '/v1/tenants/xt-a/tokens', { token: a.admin });
    const aIds = new Set((aTokens.body.tokens as { id: string }[]).map((t) => t.id));
    const page = await s.call('GET', '/v1/audit?tenantId=xt-b&outcome=denied&limit=500', {
      token: s.adminToken,
    });
    expect(page.status).toBe(200);
    expect(page.body.events).toHaveLength(refused);
    for (const e of page.body.events as { actorTokenId: string; errorCode: string }[]) {
      expect(aIds.has(e.actorTokenId)).toBe(true);
      expect(e.errorCode).toBe('FORBIDDEN');
    }

    // Nothing of B changed: its token works, its secret is intact, its policy and key are its own.
    const reveal = await s.call('POST', '/v1/tenants/xt-b/secrets/b-key/reveal', {
      token: b.service,
      body: {},
    });
    expect(reveal.body).toEqual({ value: bSecret, version: 1 });
    const policy = await s.call('GET', '/v1/tenants/xt-b/policy', { token: b.admin });
    expect(policy.body.cacheTtlSeconds).toBe(60);
    const cmk = await s.call('GET', '/v1/tenants/xt-b/cmk', { token: b.admin });
    expect(cmk.body.keyRef).toBe(`local:${b.keyName}`);
    const bTokens = await s.call('GET', '/v1/tenants/xt-b/tokens', { token: b.admin });
    expect((bTokens.body.tokens as { revokedAt: string | null }[]).every((t) => t.revokedAt === null)).toBe(
      true,
    );
    expect((bTokens.body.tokens as unknown[]).length).toBe(3);
  });

  it('answers a foreign existing tenant and a non-existent tenant alike (no existence oracle)', async () => {
    for (const c of matrix('xt-b')) {
      const ghost = c.path.replace('xt-b', 'xt-nobody');
      const body =
        c.body === undefined ? {} : { body: JSON.parse(JSON.stringify(c.body).replace('xt-b', 'xt-nobody')) };
      const real = await s.call(c.method, c.path, {
        token: a.service,
        ...(c.body !== undefined ? { body: c.body } : {}),
      });
      const fake = await s.call(c.method, ghost, { token: a.service, ...body });
      expect({ path: c.path, status: fake.status, code: fake.body?.code }).toEqual({
        path: c.path,
        status: real.status,
        code: real.body?.code,
      });
    }
  });

  it('fails a tenant-A ciphertext at tenant B, or under another context, with INVALID_CIPHERTEXT, audited', async () => {
    const enc = await s.call('POST', '/v1/tenants/xt-a/encrypt', {
      token: a.service,
      body: { plaintext: b64('tenant a record'), context: { record: 'r1' } },
    });
    expect(enc.status).toBe(200);
    const ct = enc.body.ciphertext as string;

    const ok = await s.call('POST', '/v1/tenants/xt-a/decrypt', {
      token: a.service,
      body: { ciphertext: ct, context: { record: 'r1' } },
    });
    expect(ok.body).toEqual({ plaintext: b64('tenant a record') });

    const attempts: { tenant: string; token: string; context?: Record<string, string> }[] = [
      { tenant: 'xt-b', token: b.service, context: { record: 'r1' } },
      { tenant: 'xt-a', token: a.service, context: { record: 'r2' } },
      { tenant: 'xt-a', token: a.service, context: { record: 'r1', extra: 'x' } },
      { tenant: 'xt-a', token: a.service },
    ];
    for (const at of attempts) {
      const before = await auditCount(s, {
        tenantId: at.tenant,
        action: 'decrypt',
        outcome: 'failure',
        errorCode: 'INVALID_CIPHERTEXT',
      });
      const r = await s.call('POST', `/v1/tenants/${at.tenant}/decrypt`, {
        token: at.token,
        body: { ciphertext: ct, ...(at.context ? { context: at.context } : {}) },
      });
      expectProblem(r, 400, 'INVALID_CIPHERTEXT');
      expect(r.text).not.toContain(b64('tenant a record'));
      const after = await auditCount(s, {
        tenantId: at.tenant,
        action: 'decrypt',
        outcome: 'failure',
        errorCode: 'INVALID_CIPHERTEXT',
      });
      expect(after - before).toBe(1);
    }

    // Tampering with any byte also fails closed.
    const raw = Buffer.from(ct, 'base64url');
    for (const i of [0, 10, 40, raw.length - 1]) {
      const t = Buffer.from(raw);
      t[i] = (t[i] ?? 0) ^ 1;
      const r = await s.call('POST', '/v1/tenants/xt-a/decrypt', {
        token: a.service,
        body: { ciphertext: t.toString('base64url'), context: { record: 'r1' } },
      });
      expectProblem(r, 400, 'INVALID_CIPHERTEXT');
    }

    // The batch form fails the moved item only, and audits the batch as a failure.
    const batchBefore = await auditCount(s, {
      tenantId: 'xt-b',
      action: 'decrypt.batch',
      outcome: 'failure',
    });
    const batch = await s.call('POST', '/v1/tenants/xt-b/decrypt/batch', {
      token: b.service,
      body: {
        items: [
          { ciphertext: ct, context: { record: 'r1' } },
          { ciphertext: bCiphertext, context: { record: 'r1' } },
        ],
      },
    });
    expect(batch.status).toBe(200);
    expect(batch.body.results[0]).toMatchObject({ ok: false, error: { code: 'INVALID_CIPHERTEXT' } });
    expect(batch.body.results[1]).toEqual({ ok: true, plaintext: b64('tenant b record') });
    expect(batch.text).not.toContain(b64('tenant a record'));
    expect(await auditCount(s, { tenantId: 'xt-b', action: 'decrypt.batch', outcome: 'failure' })).toBe(
      batchBefore + 1,
    );
  });

  it('refuses a secret ciphertext moved to another record or tenant in the database', async () => {
    const put = (t: string, token: string, name: string, value: string) =>
      s.call('PUT', `/v1/tenants/${t}/secrets/${name}`, { token, body: { kind: 'generic', value } });
    expect((await put('xt-a', a.service, 'one', 'value-one-aaaaaaaa')).status).toBe(201);
    expect((await put('xt-a', a.service, 'two', 'value-two-bbbbbbbb')).status).toBe(201);
    // Same record name in both tenants, so only the tenant binding differs.
    expect((await put('xt-b', b.service, 'one', 'value-b-one-cccccc')).status).toBe(201);

    await sql(
      s,
      `UPDATE secret_versions SET ciphertext = (SELECT ciphertext FROM secret_versions WHERE tenant_id = 'xt-a' AND name = 'two')
       WHERE tenant_id = 'xt-a' AND name = 'one'`,
    );
    const swapped = await s.call('POST', '/v1/tenants/xt-a/secrets/one/reveal', {
      token: a.service,
      body: {},
    });
    expectProblem(swapped, 400, 'INVALID_CIPHERTEXT');
    expect(swapped.text).not.toContain('value-two');

    await sql(
      s,
      `UPDATE secret_versions SET ciphertext = (SELECT ciphertext FROM secret_versions WHERE tenant_id = 'xt-b' AND name = 'one')
       WHERE tenant_id = 'xt-a' AND name = 'one'`,
    );
    const before = await auditCount(s, {
      tenantId: 'xt-a',
      action: 'secret.reveal',
      outcome: 'failure',
      errorCode: 'INVALID_CIPHERTEXT',
    });
    const moved = await s.call('POST', '/v1/tenants/xt-a/secrets/one/reveal', { token: a.service, body: {} });
    expectProblem(moved, 400, 'INVALID_CIPHERTEXT');
    expect(moved.text).not.toContain('value-b-one');
    expect(
      await auditCount(s, {
        tenantId: 'xt-a',
        action: 'secret.reveal',
        outcome: 'failure',
        errorCode: 'INVALID_CIPHERTEXT',
      }),
    ).toBe(before + 1);
  });

  it('enforces roles within a tenant: no plaintext for tenant admins, no crypto for auditors, no admin for services', async () => {
    const enc = await s.call('POST', '/v1/tenants/xt-a/encrypt', {
      token: a.service,
      body: { plaintext: b64('role test') },
    });
    const ct = enc.body.ciphertext as string;
    expect(
      (
        await s.call('PUT', '/v1/tenants/xt-a/secrets/role-key', {
          token: a.admin,
          body: { kind: 'generic', value: 'role-secret-value' },
        })
      ).status,
    ).toBe(201);
    const kmsBefore = await kmsCalls(s);
    const denials: { token: string; method: string; path: string; body?: unknown }[] = [
      { token: a.admin, method: 'POST', path: '/v1/tenants/xt-a/decrypt', body: { ciphertext: ct } },
      {
        token: a.admin,
        method: 'POST',
        path: '/v1/tenants/xt-a/decrypt/batch',
        body: { items: [{ ciphertext: ct }] },
      },
      { token: a.admin, method: 'POST', path: '/v1/tenants/xt-a/secrets/role-key/reveal', body: {} },
      { token: a.admin, method: 'POST', path: '/v1/tenants/xt-a/encrypt', body: { plaintext: b64('x') } },
      { token: a.auditor, method: 'POST', path: '/v1/tenants/xt-a/encrypt', body: { plaintext: b64('x') } },
      { token: a.auditor, method: 'POST', path: '/v1/tenants/xt-a/decrypt', body: { ciphertext: ct } },
      { token: a.auditor, method: 'POST', path: '/v1/tenants/xt-a/secrets/role-key/reveal', body: {} },
      { token: a.auditor, method: 'GET', path: '/v1/tenants/xt-a/secrets' },
      { token: a.auditor, method: 'PUT', path: '/v1/tenants/xt-a/policy', body: { cacheTtlSeconds: 0 } },
      { token: a.service, method: 'PUT', path: '/v1/tenants/xt-a/policy', body: { cacheTtlSeconds: 0 } },
      {
        token: a.service,
        method: 'PUT',
        path: '/v1/tenants/xt-a/cmk',
        body: { provider: 'local', keyRef: 'local:xt-b-cmk' },
      },
      { token: a.service, method: 'GET', path: '/v1/tenants/xt-a/tokens' },
      { token: a.service, method: 'GET', path: '/v1/audit?tenantId=xt-a' },
      {
        token: a.service,
        method: 'POST',
        path: '/v1/tokens',
        body: { name: 'x', role: 'tenant-admin', tenantId: 'xt-a' },
      },
      { token: a.admin, method: 'POST', path: '/v1/tenants', body: { id: 'xt-new', name: 'new' } },
      {
        token: a.auditor,
        method: 'POST',
        path: '/v1/tokens',
        body: { name: 'x', role: 'auditor', tenantId: 'xt-a' },
      },
    ];
    for (const d of denials) {
      const before = await auditCount(s, { outcome: 'denied' });
      const r = await s.call(d.method, d.path, {
        token: d.token,
        ...(d.body !== undefined ? { body: d.body } : {}),
      });
      expectProblem(r, 403, 'FORBIDDEN');
      expect(r.text).not.toContain('role-secret-value');
      expect(r.text).not.toContain(b64('role test'));
      expect(await auditCount(s, { outcome: 'denied' })).toBe(before + 1);
    }
    expect(await kmsCalls(s)).toBe(kmsBefore);

    // Positive controls: the same calls succeed for the role that owns them.
    expect(
      (await s.call('POST', '/v1/tenants/xt-a/decrypt', { token: a.service, body: { ciphertext: ct } })).body,
    ).toEqual({
      plaintext: b64('role test'),
    });
    expect((await s.call('GET', '/v1/audit?tenantId=xt-a', { token: a.auditor })).status).toBe(200);
    expect((await s.call('GET', '/v1/tenants/xt-a/tokens', { token: a.admin })).status).toBe(200);
  });

  it('answers 401 without, with a malformed, an unknown or a revoked bearer token', async () => {
    const path = '/v1/tenants/xt-a/encrypt';
    const body = { plaintext: b64('x') };
    const cases: Record<string, string>[] = [
      {},
      { authorization: `Basic ${Buffer.from('a:b').toString('base64')}` },
      { authorization: 'Bearer' },
      { authorization: 'Bearer short' },
      { authorization: `Bearer byok_${'A'.repeat(43)}` },
      { authorization: `Bearer ${a.service} extra` },
      { authorization: `bearer ${'x'.repeat(300)}` },
    ];
    for (const headers of cases) {
      const r = await s.call('POST', path, { body, headers });
      expectProblem(r, 401, 'UNAUTHENTICATED');
      expect(r.headers.get('www-authenticate')).toContain('Bearer');
    }
    for (const p of ['/v1/tenants/xt-a', '/v1/audit', '/v1/tokens', '/v1/tenants/xt-a/secrets']) {
      expectProblem(await s.call('GET', p), 401, 'UNAUTHENTICATED');
    }

    // Only a platform admin issues service tokens (issue 13); the tenant admin revokes it.
    const issued = await s.call('POST', '/v1/tokens', {
      token: s.adminToken,
      body: { name: 'short-lived', role: 'service', tenantId: 'xt-a' },
    });
    expect(issued.status).toBe(201);
    expect((await s.call('POST', path, { token: issued.body.token as string, body })).status).toBe(200);
    expect(
      (await s.call('DELETE', `/v1/tenants/xt-a/tokens/${issued.body.id as string}`, { token: a.admin }))
        .status,
    ).toBe(204);
    expectProblem(
      await s.call('POST', path, { token: issued.body.token as string, body }),
      401,
      'UNAUTHENTICATED',
    );
  });
});
