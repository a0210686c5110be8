import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startAiFake, type AiFake } from '@byok/ai-fakes';
import type { TokenRole } from '@byok/store';
import { ACTIONS, isAllowed, ROLE_TABLE, ROLES, type Action } from '../src/domain/tokens/role-model.js';
import { b64, expectProblem, sql } from './acceptance-helpers.js';
import { startTestService, type Reply, type TestService } from './harness.js';

/** A fresh tenant with one token per role (the platform admin's is the service's bootstrap token). */
interface Cell {
  tenantId: string;
  keyName: string;
  token: Record<TokenRole, string>;
}

/** The HTTP request that exercises one action of the role table, with what it needs set up first. */
interface Probe {
  method: string;
  path: string;
  body?: unknown;
}

let s: TestService;
let seq = 0;
const MATRIX_OPENAI_KEY = 'sk-proj-Matrix0123456789abcdefghijklmn';
const fresh = (prefix: string) => `${prefix}-${process.pid.toString(36)}-${(seq++).toString(36)}`;

const must = (r: Reply, status: number, what: string): Reply => {
  if (r.status !== status) throw new Error(`${what}: expected ${status}, got ${r.status} ${r.text}`);
  return r;
};

async function newCell(): Promise<Cell> {
  const tenantId = fresh('rm');
  const t = await s.tenant(tenantId);
  return {
    tenantId,
    keyName: t.keyName,
    token: {
      'platform-admin': s.adminToken,
      'tenant-admin': t.admin,
      service: t.service,
      auditor: t.auditor,
    },
  };
}

/** A token issued by the platform admin (setup only). */
async function issue(body: Record<string, unknown>): Promise<{ id: string; token: string }> {
  const r = must(await s.call('POST', '/v1/tokens', { token: s.adminToken, body }), 201, 'issue');
  return { id: r.body.id as string, token: r.body.token as string };
}

/**
 * One probe per action of the table: the request, after any setup it needs (done with tokens
 * allowed to do it). A new action in ROLE_TABLE without a probe fails the build of this record.
 */
const PROBES: Record<Action, (c: Cell) => Promise<Probe>> = {
  'tenant.create': async () => ({
    method: 'POST',
    path: '/v1/tenants',
    body: { id: fresh('rmn'), name: 'n' },
  }),
  'token.create.platform-admin': async () => ({
    method: 'POST',
    path: '/v1/tokens',
    body: { name: 'pa', role: 'platform-admin' },
  }),
  'token.create.service-all': async () => ({
    method: 'POST',
    path: '/v1/tokens',
    body: { name: 'shared', role: 'service', allTenants: true },
  }),
  'token.create.global-auditor': async () => ({
    method: 'POST',
    path: '/v1/tokens',
    body: { name: 'ga', role: 'auditor' },
  }),
  'token.platform.read': async () => ({ method: 'GET', path: '/v1/tokens' }),
  'token.platform.revoke': async () => {
    const { id } = await issue({ name: 'to revoke', role: 'auditor' });
    return { method: 'DELETE', path: `/v1/tokens/${id}` };
  },
  'dev.local-kms': async () => ({
    method: 'POST',
    path: '/v1/dev/local-kms/keys',
    body: { name: fresh('k') },
  }),
  'tenant.read': async (c) => ({ method: 'GET', path: `/v1/tenants/${c.tenantId}` }),
  'tenant.lock': async (c) => ({ method: 'POST', path: `/v1/tenants/${c.tenantId}/revoke` }),
  'tenant.restore': async (c) => {
    must(
      await s.call('POST', `/v1/tenants/${c.tenantId}/revoke`, { token: c.token['tenant-admin'] }),
      200,
      'lock',
    );
    return { method: 'POST', path: `/v1/tenants/${c.tenantId}/restore` };
  },
  'tenant.delete': async (c) => ({ method: 'DELETE', path: `/v1/tenants/${c.tenantId}` }),
  'cmk.read': async (c) => ({ method: 'GET', path: `/v1/tenants/${c.tenantId}/cmk` }),
  'cmk.write': async (c) => {
    const name = fresh('k2');
    must(await s.call('POST', '/v1/dev/local-kms/keys', { token: s.adminToken, body: { name } }), 201, 'key');
    return {
      method: 'PUT',
      path: `/v1/tenants/${c.tenantId}/cmk`,
      body: { provider: 'local', keyRef: `local:${name}` },
    };
  },
  'policy.read': async (c) => ({ method: 'GET', path: `/v1/tenants/${c.tenantId}/policy` }),
  'policy.write': async (c) => ({
    method: 'PUT',
    path: `/v1/tenants/${c.tenantId}/policy`,
    body: { cacheTtlSeconds: 30 },
  }),
  'token.create.tenant-admin': async (c) => ({
    method: 'POST',
    path: '/v1/tokens',
    body: { name: 'ta', role: 'tenant-admin', tenantId: c.tenantId },
  }),
  'token.create.service': async (c) => ({
    method: 'POST',
    path: '/v1/tokens',
    body: { name: 'svc', role: 'service', tenantId: c.tenantId },
  }),
  'token.create.auditor': async (c) => ({
    method: 'POST',
    path: '/v1/tokens',
    body: { name: 'aud', role: 'auditor', tenantId: c.tenantId },
  }),
  'token.read': async (c) => ({ method: 'GET', path: `/v1/tenants/${c.tenantId}/tokens` }),
  'token.revoke': async (c) => {
    const { id } = await issue({ name: 'to revoke', role: 'auditor', tenantId: c.tenantId });
    return { method: 'DELETE', path: `/v1/tenants/${c.tenantId}/tokens/${id}` };
  },
  'service.suspend': async (c) => ({
    method: 'PUT',
    path: `/v1/tenants/${c.tenantId}/services/billing/suspension`,
  }),
  encrypt: async (c) => ({
    method: 'POST',
    path: `/v1/tenants/${c.tenantId}/encrypt`,
    body: { plaintext: b64('matrix') },
  }),
  decrypt: async (c) => {
    const enc = must(
      await s.call('POST', `/v1/tenants/${c.tenantId}/encrypt`, {
        token: c.token.service,
        body: { plaintext: b64('matrix') },
      }),
      200,
      'encrypt',
    );
    return {
      method: 'POST',
      path: `/v1/tenants/${c.tenantId}/decrypt`,
      body: { ciphertext: enc.body.ciphertext as string },
    };
  },
  'secret.list': async (c) => ({ method: 'GET', path: `/v1/tenants/${c.tenantId}/secrets` }),
  'secret.write': async (c) => ({
    method: 'PUT',
    path: `/v1/tenants/${c.tenantId}/secrets/written`,
    body: { kind: 'anthropic', value: 'sk-ant-api03-Matrix0123456789abcdefghij' },
  }),
  'secret.reveal': async (c) => {
    await putSecret(c);
    return { method: 'POST', path: `/v1/tenants/${c.tenantId}/secrets/kept/reveal`, body: {} };
  },
  'secret.delete': async (c) => {
    await putSecret(c);
    return { method: 'DELETE', path: `/v1/tenants/${c.tenantId}/secrets/kept` };
  },
  'audit.read': async (c) => ({ method: 'GET', path: `/v1/audit?tenantId=${c.tenantId}` }),
  'tenant.rate-limit.read': async (c) => ({ method: 'GET', path: `/v1/tenants/${c.tenantId}/rate-limit` }),
  'tenant.rate-limit.set': async (c) => ({
    method: 'PUT',
    path: `/v1/tenants/${c.tenantId}/rate-limit`,
    body: { rps: 1000, burst: 2000 },
  }),
  'ai.usage.read': async (c) => ({ method: 'GET', path: `/v1/tenants/${c.tenantId}/usage?groupBy=model` }),
  'ai.budget.read': async (c) => ({ method: 'GET', path: `/v1/tenants/${c.tenantId}/ai/budgets` }),
  'ai.budget.write': async (c) => ({
    method: 'PUT',
    path: `/v1/tenants/${c.tenantId}/ai/budget`,
    body: { period: 'day', limitMicros: 5_000_000 },
  }),
  'ai.use': async (c) => {
    await putSecret(c);
    return { method: 'GET', path: `/v1/tenants/${c.tenantId}/ai/kept/v1/models` };
  },
};

async function putSecret(c: Cell): Promise<void> {
  must(
    await s.call('PUT', `/v1/tenants/${c.tenantId}/secrets/kept`, {
      token: c.token.service,
      body: { kind: 'openai', value: MATRIX_OPENAI_KEY },
    }),
    201,
    'put secret',
  );
}

/** KMS calls made so far, counted on the service's own counter (not the HTTP metrics listener). */
async function kmsCallCount(): Promise<number> {
  const m = await s.service.metrics.kmsCalls.get();
  return m.values.reduce((sum, v) => sum + v.value, 0);
}

/** FORBIDDEN denials recorded for tokens of `role`. */
async function denials(role: TokenRole): Promise<number> {
  const rows = await sql<{ n: string }>(
    s,
    `SELECT count(*)::text AS n FROM audit_events
      WHERE outcome = 'denied' AND error_code = 'FORBIDDEN' AND actor_role = $1`,
    [role],
  );
  return Number(rows[0]?.n ?? 0);
}

let fake: AiFake;
beforeAll(async () => {
  fake = await startAiFake({ validKeys: [MATRIX_OPENAI_KEY] });
  s = await startTestService({
    env: { AI_UPSTREAM_OPENAI_URL: fake.url, EGRESS_ALLOW_CIDRS: '127.0.0.0/8' },
  });
});
afterAll(async () => {
  await s?.close();
  await fake?.close();
});

/** Every cell of the table, each on a fresh tenant so no cell depends on another. */
const CELLS = ACTIONS.flatMap((action) => ROLES.map((role) => [action, role] as const));

describe('the role table, asserted cell by cell over HTTP', () => {
  it('has a probe for every action of the table', () => {
    expect(Object.keys(PROBES).sort()).toEqual([...ACTIONS].sort());
    expect(CELLS).toHaveLength(ACTIONS.length * ROLES.length);
  });

  it.each(CELLS)(
    '%s by %s: allowed -> 2xx; denied -> 403 FORBIDDEN, no KMS call, audited',
    async (action, role) => {
      const cell = await newCell();
      const probe = await PROBES[action](cell);
      const subject = { role, tenantId: role === 'platform-admin' ? null : cell.tenantId };
      const allowed = isAllowed(
        subject,
        action,
        ROLE_TABLE[action].scope === 'tenant' ? cell.tenantId : null,
      );
      const kmsBefore = await kmsCallCount();
      const deniedBefore = await denials(role);
      const r = await s.call(probe.method, probe.path, {
        token: cell.token[role],
        ...(probe.body !== undefined ? { body: probe.body } : {}),
      });
      const what = `${role} ${action}: ${probe.method} ${probe.path} -> ${r.status} ${r.text.slice(0, 200)}`;
      if (allowed) {
        expect({ what, ok: r.status >= 200 && r.status < 300 }).toEqual({ what, ok: true });
      } else {
        expectProblem(r, 403, 'FORBIDDEN');
        expect({ what, kmsCalls: (await kmsCallCount()) - kmsBefore }).toEqual({ what, kmsCalls: 0 });
        expect({ what, audited: (await denials(role)) - deniedBefore }).toEqual({ what, audited: 1 });
      }
    },
  );
});
