import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { findCanaries, sql } from './acceptance-helpers.js';
import { startTestService, type Reply, type TestService } from './harness.js';

type Tokens = Awaited<ReturnType<TestService['tenant']>>;

/** Values that must never appear outside an encrypted form or the one response meant to carry them. */
const CANARIES = {
  anthropic: 'sk-ant-api03-LeakCanaryAnthropic0123456789abcdefQRST',
  anthropicV2: 'sk-ant-api03-LeakCanaryAnthropicV2_987654321zyxwUVWX',
  openai: 'sk-proj-LeakCanaryOpenAI0123456789abcdefghijKLMN',
  google: 'AIzaLeakCanaryGoogle0123456789abcdefghi',
  azure: 'LeakCanaryAzure0123456789abcdefABCDEF0123',
  generic: 'generic leak canary: p@ss w0rd! #42 "quoted" {braces}',
  plaintext: 'record plaintext leak canary 0xDEADBEEF',
  batchPlaintext: 'batch plaintext leak canary 0xFEEDFACE',
};
const BINARY_CANARY = randomBytes(48);

describe('leak scan (G1): secrets and plaintexts never reach logs, audit rows, error bodies or metadata', () => {
  let s: TestService;
  let t: Tokens;
  let other: Tokens;
  /** Every reply that must not carry plaintext, with what produced it. */
  const clean: { what: string; r: Reply }[] = [];
  /** Replies whose purpose is to carry plaintext (a successful reveal or decrypt). */
  const carriers: Reply[] = [];
  const canaries: Record<string, string | Buffer> = { ...CANARIES, binary: BINARY_CANARY };

  const call = async (
    what: string,
    method: string,
    path: string,
    opts: Parameters<TestService['call']>[2] = {},
    carries = false,
  ): Promise<Reply> => {
    const r = await s.call(method, path, opts);
    expect({ what, status: r.status < 500 }).toEqual({ what, status: true });
    if (carries && r.status === 200) carriers.push(r);
    else clean.push({ what, r });
    return r;
  };

  beforeAll(async () => {
    s = await startTestService();
    t = await s.tenant('leak');
    other = await s.tenant('leak-other');
    canaries.serviceToken = t.service;
    canaries.adminToken = t.admin;
    canaries.platformToken = s.adminToken;
    const tk = t.service;
    const sec = '/v1/tenants/leak/secrets';

    // Secrets of every kind, a second version, listing and metadata.
    const kinds: [string, string, string][] = [
      ['anthropic', 'claude', CANARIES.anthropic],
      ['openai', 'gpt', CANARIES.openai],
      ['google', 'gemini', CANARIES.google],
      ['azure-openai', 'azure', CANARIES.azure],
      ['generic', 'db-password', CANARIES.generic],
    ];
    for (const [kind, name, value] of kinds) {
      const r = await call(`put ${kind}`, 'PUT', `${sec}/${name}`, {
        token: tk,
        body: { kind, value, labels: { team: 'ml' } },
      });
      expect(r.status).toBe(201);
    }
    expect(
      (
        await call('put v2', 'PUT', `${sec}/claude`, {
          token: tk,
          body: { kind: 'anthropic', value: CANARIES.anthropicV2 },
        })
      ).status,
    ).toBe(200);
    await call('list', 'GET', sec, { token: tk });
    await call('list as admin', 'GET', `${sec}?limit=2`, { token: t.admin });
    await call('get one', 'GET', `${sec}/claude`, { token: tk });
    for (const [, name] of kinds)
      await call(
        `reveal ${name}`,
        'POST',
        `${sec}/${name}/reveal`,
        { token: tk, body: { purpose: 'llm-inference' } },
        true,
      );
    await call('reveal v1', 'POST', `${sec}/claude/reveal`, { token: tk, body: { version: 1 } }, true);
    await call('reveal missing version', 'POST', `${sec}/claude/reveal`, { token: tk, body: { version: 9 } });

    // Encrypt and decrypt, single and batch, text and binary.
    const enc = await call('encrypt', 'POST', '/v1/tenants/leak/encrypt', {
      token: tk,
      body: { plaintext: Buffer.from(CANARIES.plaintext).toString('base64'), context: { row: '1' } },
    });
    const ct = enc.body.ciphertext as string;
    const encBin = await call('encrypt binary', 'POST', '/v1/tenants/leak/encrypt', {
      token: tk,
      body: { plaintext: BINARY_CANARY.toString('base64') },
    });
    const batch = await call('encrypt batch', 'POST', '/v1/tenants/leak/encrypt/batch', {
      token: tk,
      body: {
        items: [
          { plaintext: Buffer.from(CANARIES.batchPlaintext).toString('base64') },
          { plaintext: BINARY_CANARY.toString('base64'), context: { k: 'v' } },
        ],
      },
    });
    await call(
      'decrypt',
      'POST',
      '/v1/tenants/leak/decrypt',
      { token: tk, body: { ciphertext: ct, context: { row: '1' } } },
      true,
    );
    await call(
      'decrypt binary',
      'POST',
      '/v1/tenants/leak/decrypt',
      { token: tk, body: { ciphertext: encBin.body.ciphertext } },
      true,
    );
    await call(
      'decrypt batch',
      'POST',
      '/v1/tenants/leak/decrypt/batch',
      {
        token: tk,
        body: {
          items: [
            { ciphertext: batch.body.results[0].ciphertext },
            { ciphertext: batch.body.results[1].ciphertext, context: { k: 'v' } },
          ],
        },
      },
      true,
    );

    // Error paths: wrong context, tampering, moved ciphertext, forbidden roles and tenants.
    await call('wrong context', 'POST', '/v1/tenants/leak/decrypt', {
      token: tk,
      body: { ciphertext: ct, context: { row: '2' } },
    });
    await call('no context', 'POST', '/v1/tenants/leak/decrypt', { token: tk, body: { ciphertext: ct } });
    const bad = Buffer.from(ct, 'base64url');
    bad[bad.length - 20] = (bad[bad.length - 20] ?? 0) ^ 0xff;
    await call('tampered', 'POST', '/v1/tenants/leak/decrypt', {
      token: tk,
      body: { ciphertext: bad.toString('base64url'), context: { row: '1' } },
    });
    await call(
      'batch with bad item',
      'POST',
      '/v1/tenants/leak/decrypt/batch',
      {
        token: tk,
        body: {
          items: [
            { ciphertext: ct, context: { row: '9' } },
            { ciphertext: ct, context: { row: '1' } },
          ],
        },
      },
      true,
    );
    await call('moved to other tenant', 'POST', '/v1/tenants/leak-other/decrypt', {
      token: other.service,
      body: { ciphertext: ct, context: { row: '1' } },
    });
    await call('tenant admin decrypt', 'POST', '/v1/tenants/leak/decrypt', {
      token: t.admin,
      body: { ciphertext: ct, context: { row: '1' } },
    });
    await call('tenant admin reveal', 'POST', `${sec}/claude/reveal`, { token: t.admin, body: {} });
    await call('auditor reveal', 'POST', `${sec}/claude/reveal`, { token: t.auditor, body: {} });
    await call('foreign reveal', 'POST', `${sec}/claude/reveal`, { token: other.service, body: {} });
    await call('foreign list', 'GET', sec, { token: other.service });
    await call('unauthenticated reveal', 'POST', `${sec}/claude/reveal`, { body: {} });
    await call('bad token', 'POST', `${sec}/claude/reveal`, {
      body: {},
      headers: { authorization: `Bearer ${CANARIES.openai}` },
    });

    // Bad input that carries a secret: it must not be echoed back or logged.
    await call('wrong kind format', 'PUT', `${sec}/bad`, {
      token: tk,
      body: { kind: 'anthropic', value: CANARIES.openai },
    });
    await call('generic with control char', 'PUT', `${sec}/bad`, {
      token: tk,
      body: { kind: 'generic', value: `${CANARIES.generic}\n` },
    });
    await call('unknown field', 'PUT', `${sec}/bad`, {
      token: tk,
      body: { kind: 'openai', value: CANARIES.openai, note: CANARIES.anthropic },
    });
    await call('wrong type', 'PUT', `${sec}/bad`, {
      token: tk,
      body: { kind: 'openai', value: [CANARIES.openai] },
    });
    await call('malformed json', 'PUT', `${sec}/bad`, {
      token: tk,
      raw: `{"kind":"openai","value":"${CANARIES.openai}"`,
    });
    await call('malformed json 2', 'PUT', `${sec}/bad`, {
      token: tk,
      raw: `{"kind":"openai","value":${CANARIES.openai}}`,
    });
    await call('malformed plaintext', 'POST', '/v1/tenants/leak/encrypt', {
      token: tk,
      raw: `{"plaintext": ${CANARIES.plaintext}}`,
    });
    await call('bad base64 plaintext', 'POST', '/v1/tenants/leak/encrypt', {
      token: tk,
      body: { plaintext: CANARIES.plaintext },
    });
    await call('plaintext in purpose', 'POST', `${sec}/claude/reveal`, {
      token: tk,
      body: { purpose: CANARIES.generic },
    });
    await call('oversized', 'PUT', `${sec}/big`, {
      token: tk,
      body: {
        kind: 'generic',
        value: CANARIES.generic,
        pad: `${CANARIES.anthropic} `.repeat(Math.ceil((5 * 1024 * 1024) / 50)),
      },
    });

    // Revoked key (strict mode so the disable is seen at once), then restored.
    expect(
      (
        await call('strict policy', 'PUT', '/v1/tenants/leak/policy', {
          token: t.admin,
          body: { cacheTtlSeconds: 0 },
        })
      ).status,
    ).toBe(200);
    await call('disable key', 'POST', `/v1/dev/local-kms/keys/${t.keyName}/disable`, { token: s.adminToken });
    expect(
      (await call('revoked reveal', 'POST', `${sec}/claude/reveal`, { token: tk, body: {} })).body.code,
    ).toBe('KEY_REVOKED');
    expect(
      (
        await call('revoked decrypt', 'POST', '/v1/tenants/leak/decrypt', {
          token: tk,
          body: { ciphertext: ct, context: { row: '1' } },
        })
      ).body.code,
    ).toBe('KEY_REVOKED');
    await call('revoked put', 'PUT', `${sec}/new`, {
      token: tk,
      body: { kind: 'openai', value: CANARIES.openai },
    });
    await call('revoked cmk', 'GET', '/v1/tenants/leak/cmk', { token: t.admin });
    await call('enable key', 'POST', `/v1/dev/local-kms/keys/${t.keyName}/enable`, { token: s.adminToken });
    await call('restored reveal', 'POST', `${sec}/claude/reveal`, { token: tk, body: {} }, true);

    // Delete, then everything the operators and the security team read.
    await call('delete', 'DELETE', `${sec}/gemini`, { token: tk });
    await call('reveal deleted', 'POST', `${sec}/gemini/reveal`, { token: tk, body: {} });
    await call('tenant', 'GET', '/v1/tenants/leak', { token: t.auditor });
    await call('cmk', 'GET', '/v1/tenants/leak/cmk', { token: t.admin });
    await call('policy', 'GET', '/v1/tenants/leak/policy', { token: t.admin });
    await call('tokens', 'GET', '/v1/tenants/leak/tokens', { token: t.admin });
    await call('audit', 'GET', '/v1/audit?tenantId=leak&limit=500', { token: t.auditor });
    await call('audit all', 'GET', '/v1/audit?limit=500', { token: s.adminToken });
    await call('audit verify', 'GET', '/v1/audit/verify?tenantId=leak', { token: t.auditor });
    await call('local keys', 'GET', '/v1/dev/local-kms/keys', { token: s.adminToken });
    clean.push({ what: 'metrics', r: await s.scrape() });
    await call('healthz', 'GET', '/healthz');
    await call('readyz', 'GET', '/readyz');
    await call('no route', 'GET', '/v1/nothing-here', { token: tk });

    // The customer keys of the local dev KMS are key material too.
    const kmsFile = JSON.parse(await readFile(join(s.dataDir, 'local-kms.json'), 'utf8')) as {
      keys: { name: string; material: string }[];
    };
    for (const k of kmsFile.keys) canaries[`cmk ${k.name}`] = Buffer.from(k.material, 'base64');
  }, 30_000);
  afterAll(async () => {
    await s?.close();
  });

  it('the scanner finds the canaries where they legitimately are (positive control)', () => {
    const carried = carriers.map((r) => r.text).join('\n');
    for (const name of [
      'anthropic',
      'anthropicV2',
      'openai',
      'google',
      'azure',
      'generic',
      'plaintext',
      'batchPlaintext',
      'binary',
    ]) {
      expect({
        name,
        found: findCanaries(carried, { [name]: canaries[name] as string | Buffer }).length > 0,
      }).toEqual({ name, found: true });
    }
    expect(Object.keys(canaries).filter((k) => k.startsWith('cmk ')).length).toBe(2);
    expect(clean.length).toBeGreaterThan(50);
  });

  it('drove the error paths it meant to (each answered with its stable code)', () => {
    const code = (what: string) => clean.find((c) => c.what === what)?.r.body?.code as string | undefined;
    const expected: Record<string, string> = {
      'reveal missing version': 'NOT_FOUND',
      'wrong context': 'INVALID_CIPHERTEXT',
      tampered: 'INVALID_CIPHERTEXT',
      'moved to other tenant': 'INVALID_CIPHERTEXT',
      'tenant admin decrypt': 'FORBIDDEN',
      'foreign reveal': 'FORBIDDEN',
      'bad token': 'UNAUTHENTICATED',
      'wrong kind format': 'VALIDATION_FAILED',
      'unknown field': 'VALIDATION_FAILED',
      'malformed json': 'MALFORMED_REQUEST',
      'bad base64 plaintext': 'VALIDATION_FAILED',
      oversized: 'PAYLOAD_TOO_LARGE',
      'revoked reveal': 'KEY_REVOKED',
      'revoked decrypt': 'KEY_REVOKED',
      'reveal deleted': 'NOT_FOUND',
    };
    for (const [what, c] of Object.entries(expected))
      expect({ what, code: code(what) }).toEqual({ what, code: c });
    const batch = carriers.find(
      (r) => Array.isArray(r.body?.results) && r.body.results.some((x: { ok: boolean }) => !x.ok),
    );
    expect(batch?.body.results[0]).toMatchObject({ ok: false, error: { code: 'INVALID_CIPHERTEXT' } });
  });

  it('no canary appears in any log line (debug level, including SQL logging)', () => {
    const logs = s.logs.join('');
    expect(s.logs.length).toBeGreaterThan(100);
    expect(logs).toContain('"msg":"sql"');
    expect(findCanaries(logs, canaries)).toEqual([]);
  });

  it('no canary appears in any error body, listing, metadata, audit page or metrics', () => {
    const hits = clean.flatMap(({ what, r }) => findCanaries(r.text, canaries).map((h) => `${what}: ${h}`));
    expect(hits).toEqual([]);
    const errors = clean.filter(({ r }) => r.status >= 400);
    expect(errors.length).toBeGreaterThan(25);
    for (const { r } of errors) expect(r.headers.get('content-type')).toContain('application/problem+json');
  });

  it('no canary appears in any audit row, and every table holds secrets only encrypted', async () => {
    const dump = async (table: string) => {
      const rows = await sql(s, `SELECT * FROM ${table}`);
      return rows
        .map((row) =>
          Object.values(row)
            .map((v) =>
              Buffer.isBuffer(v)
                ? `${v.toString('latin1')}|${v.toString('utf8')}|${v.toString('hex')}|${v.toString('base64')}`
                : JSON.stringify(v),
            )
            .join('|'),
        )
        .join('\n');
    };
    const tables = (
      await sql<{ tablename: string }>(s, `SELECT tablename FROM pg_tables WHERE schemaname = 'public'`)
    ).map((r) => r.tablename);
    for (const required of [
      'audit_events',
      'secret_versions',
      'secrets',
      'tenant_keys',
      'tenant_cmk',
      'api_tokens',
    ])
      expect(tables).toContain(required);
    const auditText = await dump('audit_events');
    expect(auditText).toContain('secret.reveal');
    expect(findCanaries(auditText, canaries)).toEqual([]);
    for (const table of tables) {
      expect({ table, hits: findCanaries(await dump(table), canaries) }).toEqual({ table, hits: [] });
    }
    // The stored secrets exist (so the scan looked at real ciphertexts), one row per version.
    const versions = await sql<{ n: string }>(
      s,
      `SELECT count(*)::text AS n FROM secret_versions WHERE tenant_id = 'leak'`,
    );
    expect(Number(versions[0]?.n)).toBe(5);
  });
});
