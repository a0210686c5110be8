import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import fc, { type Arbitrary } from 'fast-check';
import {
  apiContract,
  Base64,
  Base64Url,
  fillPath,
  listenerOf,
  operationsOf,
  ProviderName,
  PutSecretRequest,
  SECRET_FORMATS,
  SecretName,
  TenantId,
  type OperationDef,
} from '@byok/contract';
import { createTestDatabase, type TestDatabase } from '@byok/store/testing';
import pg from 'pg';
import type { z } from 'zod';
import { assertContractReply } from '../../../../test/support/contract-check.js';
import { fuzzParams, fuzzTimeout } from '../../../../test/support/fuzz-params.js';
import { startTestService, type TestService } from '../harness.js';
import { changedTables, closeSockets, send, snapshot, type RawReply } from './fuzz-support.js';
import {
  byteMutation,
  encodeURIComponentLoose,
  jsonMutation,
  mutateBytes,
  mutateJson,
  toJsonText,
  weirdPathSegment,
  weirdQueryValue,
  type ByteMutation,
  type JsonMutation,
} from './json-mutations.js';
import { arbitraryOf, type Hints } from './zod-arbitrary.js';

// Every route of the contract, called with inputs generated from its own zod schemas (valid, then
// mutated) and the tokens of every role: never a 5xx, every reply as the contract declares it, and
// a 4xx changes no table (the audit log aside: refusals are audited). Replay a failure with the
// seed and path fast-check prints: FUZZ_SEED=<seed> FUZZ_PATH=<path> pnpm fuzz.

const A = 'fa';
const Z = 'fz';

/**
 * Operations whose success would take the fixture tenant away (offboarding, kill switch, a new
 * CMK, a restrictive policy, a deleted secret): they act on the sacrificial tenant `fz` instead.
 */
const DISRUPTIVE = new Set([
  'deleteTenant',
  'lockTenant',
  'restoreTenant',
  'putCmk',
  'putPolicy',
  'suspendService',
  'resumeService',
  'deleteSecret',
  'retireTenantKeys',
  'disableLocalKey',
]);

type Role = 'platform-admin' | 'tenant-admin' | 'service' | 'auditor' | 'none' | 'bogus' | 'cross-tenant';
const roles: Role[] = [
  'platform-admin',
  'tenant-admin',
  'service',
  'auditor',
  'cross-tenant',
  'none',
  'bogus',
];

/** One request of the fuzzer, before it is turned into bytes. */
interface Case {
  op: OperationDef;
  role: Role;
  params: Record<string, string>;
  query: [string, string][];
  body: unknown;
  /** Raw changes: to the body bytes, a path segment, the query, the media type. */
  bytes: ByteMutation;
  json: JsonMutation | null;
  path: { at: number; segment: string } | null;
  queryChange: { kind: 'value' | 'add' | 'repeat' | 'proto'; at: number; value: string } | null;
  contentType: string | null;
  sendBody: boolean;
}

/** `s` with what an HTTP request line cannot carry (spaces, controls, non-ASCII) percent-encoded; bad escapes stay. */
const printable = (s: string): string => s.replace(/[^\x21-\x7e]/gu, (ch) => encodeURIComponentLoose(ch));

const ops = operationsOf(apiContract).filter((op) => listenerOf(op) === 'api');

describe('contract fuzzing: every route, every role, generated and mutated input', () => {
  let db: TestDatabase;
  let s: TestService;
  const tokens: Record<string, Record<string, string>> = {};
  const ciphertexts: string[] = [];
  let jobId = '';
  let last: Record<string, string>;
  const seen = {
    cases: 0,
    sendMs: 0,
    checkMs: 0,
    caseMs: 0,
    byStatus: new Map<number, number>(),
    opsSucceeded: new Set<string>(),
  };

  beforeAll(async () => {
    db = await createTestDatabase();
    if (db.kind === 'postgres') {
      // Thousands of audited refusals: commits need not wait for the disk (durability is not the claim here).
      const name = new URL(db.databaseUrl).pathname.slice(1);
      const admin = new pg.Client({ connectionString: db.databaseUrl });
      await admin.connect();
      await admin.query(`ALTER DATABASE ${name} SET synchronous_commit = off`);
      await admin.end();
    }
    s = await startTestService({ sharedDb: db });
    for (const t of [A, Z]) {
      const k = await s.tenant(t);
      tokens[t] = {
        'platform-admin': s.adminToken,
        'tenant-admin': k.admin,
        service: k.service,
        auditor: k.auditor,
      };
      const put = await s.call('PUT', `/v1/tenants/${t}/secrets/existing`, {
        token: k.service,
        body: { kind: 'anthropic', value: 'sk-ant-api03-Existing0123456789abcdefgh' },
      });
      expect(put.status).toBe(201);
    }
    for (const pt of ['', 'fuzz', 'x'.repeat(300)]) {
      const r = await s.call('POST', `/v1/tenants/${A}/encrypt`, {
        token: tokens[A]!.service,
        body: { plaintext: Buffer.from(pt).toString('base64'), context: { record: '1' } },
      });
      expect(r.status).toBe(200);
      ciphertexts.push(r.body.ciphertext as string);
    }
    const rot = await s.call('POST', `/v1/tenants/${A}/tenant-key/rotate`, {
      token: tokens[A]!['tenant-admin'],
    });
    expect(rot.status).toBe(202);
    jobId = rot.body.jobId as string;
    await quiesce();
    last = await snapshot(s);
  });
  afterAll(async () => {
    closeSockets();
    // Shown so a reader sees what the run reached (statuses, and which operations ever succeeded).
    process.stderr.write(
      `[contract-fuzz] ${seen.cases} cases; statuses ${JSON.stringify(Object.fromEntries([...seen.byStatus].sort()))}; ` +
        `${seen.opsSucceeded.size}/${ops.length} operations answered 2xx at least once; ` +
        `requests ${Math.round(seen.sendMs)} ms, 4xx snapshots ${Math.round(seen.checkMs)} ms, whole cases ${Math.round(seen.caseMs)} ms\n`,
    );
    await s?.close();
    await db?.drop();
  });

  /** Waits for background re-encryption a successful rotation started (it rewrites ciphertexts). */
  async function quiesce(): Promise<void> {
    const deadline = Date.now() + 20_000;
    for (;;) {
      const { rows } = await s.service.store.pool.query(
        `SELECT count(*)::int AS n FROM jobs WHERE state IN ('pending', 'running')`,
      );
      if ((rows[0] as { n: number }).n === 0) return;
      if (Date.now() > deadline) throw new Error('a re-encryption job did not finish');
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  const tenantArb = (op: OperationDef): Arbitrary<string> =>
    DISRUPTIVE.has(op.id)
      ? fc.oneof(
          { weight: 4, arbitrary: fc.constant(Z) },
          { weight: 1, arbitrary: fc.stringMatching(/^[a-z0-9]{1,8}$/) },
        )
      : fc.oneof(
          { weight: 6, arbitrary: fc.constant(A) },
          { weight: 1, arbitrary: fc.constant(Z) },
          { weight: 1, arbitrary: fc.stringMatching(/^[a-z0-9][a-z0-9-]{0,20}$/) },
        );

  /** Generators for what a schema's definition cannot say (refinements) or should aim at (fixtures). */
  const hintsFor = (op: OperationDef): Hints => {
    const b64check = (Base64 as unknown as { _zod: { def: { checks: unknown[] } } })._zod.def.checks[0];
    const b64urlCheck = (Base64Url as unknown as { _zod: { def: { checks: unknown[] } } })._zod.def.checks[0];
    const kind = fc.constantFrom(...(Object.keys(SECRET_FORMATS) as (keyof typeof SECRET_FORMATS)[]));
    return new Map<unknown, Arbitrary<unknown>>([
      [TenantId, tenantArb(op)],
      [
        SecretName,
        fc.oneof(
          { weight: 3, arbitrary: fc.constant('existing') },
          { weight: 1, arbitrary: fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._-]{0,20}$/) },
        ),
      ],
      [
        ProviderName,
        fc.oneof(
          fc.constantFrom('local', 'aws-kms', 'azure-kv', 'gcp-kms', 'pkcs11'),
          fc.stringMatching(/^[a-z][a-z0-9-]{0,8}$/),
        ),
      ],
      [b64check, fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b).toString('base64'))],
      [
        b64urlCheck,
        fc.oneof(
          fc.constantFrom(...ciphertexts),
          fc.uint8Array({ maxLength: 160 }).map((b) => Buffer.from(b).toString('base64url')),
        ),
      ],
      [
        PutSecretRequest,
        kind.chain((k) =>
          fc.record(
            {
              kind: fc.constant(k),
              value: fc.stringMatching(SECRET_FORMATS[k].pattern).filter((v) => v.length <= 8192),
              labels: fc.dictionary(
                fc.stringMatching(/^[a-z0-9][a-z0-9._-]{0,10}$/),
                fc.string({ maxLength: 20 }),
                {
                  maxKeys: 3,
                },
              ),
            },
            { requiredKeys: ['kind', 'value'] },
          ),
        ),
      ],
    ]);
  };

  const paramsArb = (op: OperationDef): Arbitrary<Record<string, string>> => {
    const shape = (op.params?.shape ?? {}) as Record<string, z.ZodType>;
    const hints = hintsFor(op);
    const parts: Record<string, Arbitrary<string>> = {};
    for (const [k, schema] of Object.entries(shape)) {
      const generated = arbitraryOf(schema, hints).map(String);
      if (k === 'jobId') parts[k] = fc.oneof(fc.constant(jobId), generated);
      else if (k === 'service') parts[k] = fc.oneof(fc.constant('llm-gateway'), generated);
      // Never a fixture key or token: disabling or revoking one would end the run's coverage.
      else if (k === 'name' && op.path.includes('local-kms'))
        parts[k] = generated.filter((n) => !n.endsWith('-cmk'));
      else parts[k] = generated;
    }
    return fc.record(parts);
  };

  const queryArb = (op: OperationDef): Arbitrary<[string, string][]> =>
    op.query
      ? arbitraryOf(op.query, hintsFor(op)).map((q) =>
          Object.entries(q as Record<string, unknown>).map(([k, v]) => [k, String(v)] as [string, string]),
        )
      : fc.constant([]);

  const caseArb = (mutated: boolean): Arbitrary<Case> => {
    // Built once per operation: a case only picks among them.
    const perOp = new Map(ops.map((op) => [op, opCaseArb(op, mutated)]));
    return fc.constantFrom(...ops).chain((op) => perOp.get(op) as Arbitrary<Case>);
  };

  const opCaseArb = (op: OperationDef, mutated: boolean): Arbitrary<Case> =>
    fc.record({
      op: fc.constant(op),
      // Mostly real tokens (they reach validation); no token and a bogus one now and then.
      role: fc.oneof(
        { weight: 10, arbitrary: fc.constantFrom(...roles.slice(0, 5)) },
        { weight: 1, arbitrary: fc.constantFrom(...roles.slice(5)) },
      ),
      params: paramsArb(op),
      query: queryArb(op),
      body: op.body ? arbitraryOf(op.body, hintsFor(op)) : fc.constant(undefined),
      bytes: mutated ? byteMutation : fc.constant({ kind: 'none' as const }),
      json: mutated ? fc.option(jsonMutation, { freq: 2 }) : fc.constant(null),
      path: mutated
        ? fc.option(fc.record({ at: fc.nat(), segment: weirdPathSegment }), { freq: 4 })
        : fc.constant(null),
      queryChange: mutated
        ? fc.option(
            fc.record({
              kind: fc.constantFrom('value' as const, 'add' as const, 'repeat' as const, 'proto' as const),
              at: fc.nat(),
              value: weirdQueryValue,
            }),
            { freq: 3 },
          )
        : fc.constant(null),
      contentType: mutated
        ? fc.option(
            fc.constantFrom(
              'application/json; charset=utf-8',
              'application/json; charset=latin1',
              'application/json; charset=utf-16',
              'application/json; charset=nonsense',
              'application/merge-patch+json',
              'text/plain',
              'application/x-www-form-urlencoded',
              'multipart/form-data; boundary=x',
              '',
            ),
            { freq: 5 },
          )
        : fc.constant(null),
      sendBody: fc.constant(op.body !== undefined || mutated),
    });

  /** The method, path with query, headers and body bytes of a case. */
  function render(c: Case, tenantTokens: Record<string, Record<string, string>>) {
    const params = { ...c.params };
    const names = Object.keys(params);
    let path = fillPath(c.op.path, params);
    if (c.path && names.length > 0) {
      const name = names[c.path.at % names.length] as string;
      path = c.op.path.replace(/\{([A-Za-z0-9_]+)\}/g, (_m, n: string) =>
        n === name
          ? printable((c.path as { segment: string }).segment)
          : encodeURIComponentLoose(params[n] ?? ''),
      );
    }
    const q = [...c.query];
    if (c.queryChange) {
      const { kind, at, value } = c.queryChange;
      const keys = Object.keys((c.op.query?.shape ?? {}) as object);
      const key = keys.length ? (keys[at % keys.length] as string) : 'limit';
      if (kind === 'value') q.push([key, value]);
      if (kind === 'add') q.push([`x${at % 7}`, value]);
      if (kind === 'repeat') q.push([key, value], [key, value]);
      if (kind === 'proto') q.push(['__proto__', value], ['constructor[prototype][x]', value]);
    }
    // Values from a query mutation are already escaped (some on purpose badly); the rest are not.
    const qs = q
      .map(([k, v], i) =>
        c.queryChange && i >= c.query.length
          ? `${encodeURIComponentLoose(k).replace(/%5B/g, '[').replace(/%5D/g, ']')}=${printable(v)}`
          : `${encodeURIComponent(k)}=${encodeURIComponentLoose(v)}`,
      )
      .join('&');
    const tenant = params.tenantId === Z ? Z : A;
    const own = tenantTokens[tenant] as Record<string, string>;
    const headers: Record<string, string> = {};
    if (c.role === 'bogus') headers.authorization = 'Bearer byok_not_a_token_0123456789abcdef';
    else if (c.role === 'cross-tenant')
      headers.authorization = `Bearer ${tenantTokens[tenant === A ? Z : A]!.service}`;
    else if (c.role !== 'none') headers.authorization = `Bearer ${own[c.role]}`;
    let body: Buffer | undefined;
    if (c.sendBody) {
      const value = c.json ? mutateJson(c.body, c.json) : c.body;
      body = mutateBytes(value === undefined ? '' : toJsonText(value), c.bytes);
      const ct = c.contentType ?? 'application/json';
      if (ct) headers['content-type'] = ct;
    }
    return { method: c.op.method.toUpperCase(), path: qs ? `${path}?${qs}` : path, headers, body };
  }

  async function check(c: Case): Promise<void> {
    const started = performance.now();
    try {
      await checkCase(c);
    } finally {
      seen.caseMs += performance.now() - started;
    }
  }

  async function checkCase(c: Case): Promise<void> {
    const req = render(c, tokens);
    let r: RawReply;
    const t0 = performance.now();
    try {
      r = await send(s.url, req.method, req.path, req.headers, req.body).catch(() =>
        // A kept-alive connection the server had just closed: once more on a new one.
        send(s.url, req.method, req.path, req.headers, req.body, true),
      );
      seen.sendMs += performance.now() - t0;
    } catch (err) {
      throw new Error(`${c.op.id}: ${req.method} ${req.path.slice(0, 200)}: no answer: ${String(err)}`);
    }
    seen.cases++;
    seen.byStatus.set(r.status, (seen.byStatus.get(r.status) ?? 0) + 1);
    const what = `${c.op.id} as ${c.role}: ${req.method} ${req.path.slice(0, 300)} body ${req.body?.subarray(0, 300).toString('utf8')} -> ${r.status} ${r.text.slice(0, 500)}`;
    // The one 5xx a request may get: the operator has not configured the provider it names
    // (a declared 503 about this deployment, whatever the input).
    const misconfigured = r.status === 503 && /"code":"KMS_MISCONFIGURED"/.test(r.text);
    if (r.status >= 500 && !misconfigured) throw new Error(`5xx: ${what}`);
    assertContractReply(req.method, req.path.split('?')[0] as string, r.status, r.contentType, r.text);
    if (r.status < 300) {
      seen.opsSucceeded.add(c.op.id);
      // A rotation starts a re-encryption job that rewrites ciphertexts in the background.
      if (c.op.id === 'rotateTenantKey') await quiesce();
      last = await snapshot(s);
      return;
    }
    const t1 = performance.now();
    const now = await snapshot(s);
    seen.checkMs += performance.now() - t1;
    const changed = changedTables(last, now);
    last = now;
    if (r.status >= 400 && changed.length > 0)
      throw new Error(`a ${r.status} changed ${changed.join(', ')}: ${what}`);
  }

  it(
    'valid input from the schemas: never a 5xx, replies as declared, a 4xx changes nothing',
    async () => {
      await fc.assert(fc.asyncProperty(caseArb(false), check), fuzzParams());
    },
    fuzzTimeout(40),
  );

  it(
    'mutated input (types, numbers, unicode, duplicate keys, __proto__, nesting, sizes, bytes): never a 5xx, a 4xx changes nothing',
    async () => {
      await fc.assert(fc.asyncProperty(caseArb(true), check), fuzzParams());
    },
    fuzzTimeout(40),
  );
});
