import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { b64, expectProblem, kmsCalls, sql } from './acceptance-helpers.js';
import { startTestService, type TestService } from './harness.js';

type Tokens = Awaited<ReturnType<TestService['tenant']>>;

/** One bad request and the stable answer it must get. */
interface BadCase {
  what: string;
  method: string;
  path: string;
  token?: 'service' | 'admin' | 'platform';
  body?: unknown;
  raw?: string;
  headers?: Record<string, string>;
  status: number | number[];
  code: string | string[];
}

const BODY_LIMIT = 2048;
const T = '/v1/tenants/bi';

describe('bad input gets a 4xx problem+json with a stable code, and changes nothing stored', () => {
  let s: TestService;
  let t: Tokens;
  let ct: string;

  /** Everything a bad request could have changed. */
  const snapshot = async () => ({
    tenants: await sql(
      s,
      `SELECT id, name, state, cache_ttl_seconds, policy, updated_at FROM tenants ORDER BY id`,
    ),
    cmk: await sql(
      s,
      `SELECT tenant_id, provider, key_ref, state, verified_at FROM tenant_cmk ORDER BY tenant_id`,
    ),
    keys: await sql(s, `SELECT tenant_id, version, state, md5(wrapped) AS w FROM tenant_keys ORDER BY 1, 2`),
    secrets: await sql(s, `SELECT tenant_id, name, kind, labels, current_version FROM secrets ORDER BY 1, 2`),
    versions: await sql(
      s,
      `SELECT tenant_id, name, version, md5(ciphertext) AS c, hint FROM secret_versions ORDER BY 1, 2, 3`,
    ),
    tokens: await sql(s, `SELECT id, role, tenant_id, revoked_at FROM api_tokens ORDER BY id`),
    localKeys: (await s.call('GET', '/v1/dev/local-kms/keys', { token: s.adminToken })).body,
  });

  beforeAll(async () => {
    s = await startTestService({ env: { BODY_LIMIT_BYTES: String(BODY_LIMIT) } });
    t = await s.tenant('bi');
    const put = await s.call('PUT', `${T}/secrets/existing`, {
      token: t.service,
      body: { kind: 'anthropic', value: 'sk-ant-api03-Existing0123456789abcdefgh' },
    });
    expect(put.status).toBe(201);
    ct = (await s.call('POST', `${T}/encrypt`, { token: t.service, body: { plaintext: b64('bad input') } }))
      .body.ciphertext;
  });
  afterAll(async () => {
    await s?.close();
  });

  const withHeader = (byte: number, value: number) => {
    const b = Buffer.from(ct, 'base64url');
    b[byte] = value;
    return b.toString('base64url');
  };
  const withTkVersion = (v: number) => {
    const b = Buffer.from(ct, 'base64url');
    b.writeUInt32BE(v, 2);
    return b.toString('base64url');
  };

  const VF = 'VALIDATION_FAILED';
  const cases = (): BadCase[] => [
    // Malformed JSON and odd top-level values.
    {
      what: 'truncated JSON',
      method: 'PUT',
      path: `${T}/secrets/x`,
      raw: '{"kind":',
      status: 400,
      code: 'MALFORMED_REQUEST',
    },
    {
      what: 'unquoted keys',
      method: 'POST',
      path: `${T}/encrypt`,
      raw: '{plaintext:"eA=="}',
      status: 400,
      code: 'MALFORMED_REQUEST',
    },
    {
      what: 'trailing comma',
      method: 'POST',
      path: `${T}/encrypt`,
      raw: '{"plaintext":"eA==",}',
      status: 400,
      code: 'MALFORMED_REQUEST',
    },
    {
      what: 'top-level string',
      method: 'POST',
      path: `${T}/encrypt`,
      raw: '"eA=="',
      status: 400,
      code: ['MALFORMED_REQUEST', VF],
    },
    {
      what: 'top-level null',
      method: 'POST',
      path: `${T}/encrypt`,
      raw: 'null',
      status: 400,
      code: ['MALFORMED_REQUEST', VF],
    },
    { what: 'top-level array', method: 'POST', path: `${T}/encrypt`, raw: '[]', status: 400, code: VF },
    {
      what: 'empty JSON body',
      method: 'POST',
      path: `${T}/encrypt`,
      raw: '',
      status: 400,
      code: [VF, 'MALFORMED_REQUEST'],
    },
    {
      what: 'deep nesting',
      method: 'POST',
      path: `${T}/encrypt`,
      raw: `{"plaintext":"eA==","context":${'['.repeat(900)}${']'.repeat(900)}}`,
      status: 400,
      code: VF,
    },
    {
      what: 'number overflow',
      method: 'POST',
      path: `${T}/secrets/existing/reveal`,
      raw: '{"version":1e400}',
      status: 400,
      code: VF,
    },
    // Bodies over BODY_LIMIT_BYTES.
    {
      what: 'oversized encrypt',
      method: 'POST',
      path: `${T}/encrypt`,
      body: { plaintext: b64('x'.repeat(BODY_LIMIT)) },
      status: 413,
      code: 'PAYLOAD_TOO_LARGE',
    },
    {
      what: 'oversized secret',
      method: 'PUT',
      path: `${T}/secrets/big`,
      body: { kind: 'generic', value: 'y'.repeat(BODY_LIMIT * 2) },
      status: 413,
      code: 'PAYLOAD_TOO_LARGE',
    },
    {
      what: 'oversized batch',
      method: 'POST',
      path: `${T}/encrypt/batch`,
      body: { items: Array.from({ length: 300 }, () => ({ plaintext: 'eA==' })) },
      status: 413,
      code: 'PAYLOAD_TOO_LARGE',
    },
    // Wrong types.
    {
      what: 'numeric plaintext',
      method: 'POST',
      path: `${T}/encrypt`,
      body: { plaintext: 123 },
      status: 400,
      code: VF,
    },
    {
      what: 'string context',
      method: 'POST',
      path: `${T}/encrypt`,
      body: { plaintext: 'eA==', context: 'row=1' },
      status: 400,
      code: VF,
    },
    {
      what: 'numeric context value',
      method: 'POST',
      path: `${T}/encrypt`,
      body: { plaintext: 'eA==', context: { row: 1 } },
      status: 400,
      code: VF,
    },
    {
      what: 'items as object',
      method: 'POST',
      path: `${T}/encrypt/batch`,
      body: { items: { plaintext: 'eA==' } },
      status: 400,
      code: VF,
    },
    {
      what: 'empty batch',
      method: 'POST',
      path: `${T}/decrypt/batch`,
      body: { items: [] },
      status: 400,
      code: VF,
    },
    {
      what: 'numeric purpose',
      method: 'POST',
      path: `${T}/decrypt`,
      body: { ciphertext: ct, purpose: 5 },
      status: 400,
      code: VF,
    },
    {
      what: 'string version',
      method: 'POST',
      path: `${T}/secrets/existing/reveal`,
      body: { version: '1' },
      status: 400,
      code: VF,
    },
    {
      what: 'version 0',
      method: 'POST',
      path: `${T}/secrets/existing/reveal`,
      body: { version: 0 },
      status: 400,
      code: VF,
    },
    {
      what: 'string ttl',
      method: 'PUT',
      path: `${T}/policy`,
      token: 'admin',
      body: { cacheTtlSeconds: '60' },
      status: 400,
      code: VF,
    },
    {
      what: 'fractional ttl',
      method: 'PUT',
      path: `${T}/policy`,
      token: 'admin',
      body: { cacheTtlSeconds: 1.5 },
      status: 400,
      code: VF,
    },
    {
      what: 'negative ttl',
      method: 'PUT',
      path: `${T}/policy`,
      token: 'admin',
      body: { cacheTtlSeconds: -1 },
      status: 400,
      code: VF,
    },
    {
      what: 'ttl over an hour',
      method: 'PUT',
      path: `${T}/policy`,
      token: 'admin',
      body: { cacheTtlSeconds: 3601 },
      status: 400,
      code: VF,
    },
    {
      what: 'policy for an unknown role',
      method: 'PUT',
      path: `${T}/policy`,
      token: 'admin',
      body: { allowedPurposes: { byRole: { auditor: ['x'] } } },
      status: 400,
      code: VF,
    },
    {
      what: 'policy with a bad purpose',
      method: 'PUT',
      path: `${T}/policy`,
      token: 'admin',
      body: { allowedPurposes: { byRole: { service: ['Not OK'] } } },
      status: 400,
      code: VF,
    },
    // Bad base64 and bad ciphertexts.
    {
      what: 'plaintext not base64',
      method: 'POST',
      path: `${T}/encrypt`,
      body: { plaintext: '@@@@' },
      status: 400,
      code: VF,
    },
    {
      what: 'plaintext base64url',
      method: 'POST',
      path: `${T}/encrypt`,
      body: { plaintext: 'a-_b' },
      status: 400,
      code: VF,
    },
    {
      what: 'plaintext base64 with non-zero trailing bits (not canonical)',
      method: 'POST',
      path: `${T}/encrypt`,
      body: { plaintext: 'QR==' },
      status: 400,
      code: VF,
    },
    {
      what: 'ciphertext of length 4n+1 (a dangling character)',
      method: 'POST',
      path: `${T}/decrypt`,
      body: { ciphertext: 'QUJDR' },
      status: 400,
      code: VF,
    },
    {
      what: 'ciphertext with + and /',
      method: 'POST',
      path: `${T}/decrypt`,
      body: { ciphertext: 'ab+/cd' },
      status: 400,
      code: VF,
    },
    {
      what: 'ciphertext with spaces',
      method: 'POST',
      path: `${T}/decrypt`,
      body: { ciphertext: 'ab cd' },
      status: 400,
      code: VF,
    },
    {
      what: 'empty ciphertext',
      method: 'POST',
      path: `${T}/decrypt`,
      body: { ciphertext: '' },
      status: 400,
      code: [VF, 'INVALID_CIPHERTEXT'],
    },
    {
      what: 'short ciphertext',
      method: 'POST',
      path: `${T}/decrypt`,
      body: { ciphertext: 'AAAA' },
      status: 400,
      code: 'INVALID_CIPHERTEXT',
    },
    {
      what: 'truncated ciphertext',
      method: 'POST',
      path: `${T}/decrypt`,
      body: { ciphertext: ct.slice(0, 60) },
      status: 400,
      code: 'INVALID_CIPHERTEXT',
    },
    {
      what: 'unknown format version',
      method: 'POST',
      path: `${T}/decrypt`,
      body: { ciphertext: withHeader(0, 99) },
      status: 400,
      code: 'INVALID_CIPHERTEXT',
    },
    {
      what: 'unknown algorithm',
      method: 'POST',
      path: `${T}/decrypt`,
      body: { ciphertext: withHeader(1, 99) },
      status: 400,
      code: 'INVALID_CIPHERTEXT',
    },
    {
      what: 'tenant key version that does not exist',
      method: 'POST',
      path: `${T}/decrypt`,
      body: { ciphertext: withTkVersion(999) },
      status: 400,
      code: 'INVALID_CIPHERTEXT',
    },
    {
      what: 'tenant key version 0',
      method: 'POST',
      path: `${T}/decrypt`,
      body: { ciphertext: withTkVersion(0) },
      status: 400,
      code: 'INVALID_CIPHERTEXT',
    },
    {
      what: 'tenant key version 2^32-1',
      method: 'POST',
      path: `${T}/decrypt`,
      body: { ciphertext: withTkVersion(0xffffffff) },
      status: 400,
      code: 'INVALID_CIPHERTEXT',
    },
    // Unknown fields.
    {
      what: 'unknown encrypt field',
      method: 'POST',
      path: `${T}/encrypt`,
      body: { plaintext: 'eA==', keyVersion: 1 },
      status: 400,
      code: VF,
    },
    {
      what: 'unknown policy field',
      method: 'PUT',
      path: `${T}/policy`,
      token: 'admin',
      body: { cacheTtlSeconds: 5, strict: true },
      status: 400,
      code: VF,
    },
    {
      what: 'unknown token field',
      method: 'POST',
      path: '/v1/tokens',
      token: 'admin',
      body: { name: 'x', role: 'service', tenantId: 'bi', scopes: ['*'] },
      status: 400,
      code: VF,
    },
    {
      what: 'unknown reveal field',
      method: 'POST',
      path: `${T}/secrets/existing/reveal`,
      body: { all: true },
      status: 400,
      code: VF,
    },
    {
      what: 'unknown tenant field',
      method: 'POST',
      path: '/v1/tenants',
      token: 'platform',
      body: { id: 'bi-2', name: 'x', state: 'locked' },
      status: 400,
      code: VF,
    },
    {
      what: '__proto__ key',
      method: 'POST',
      path: `${T}/encrypt`,
      raw: '{"plaintext":"eA==","__proto__":{"polluted":true}}',
      status: 400,
      code: VF,
    },
    {
      what: 'unknown audit filter',
      method: 'GET',
      path: '/v1/audit?tenantId=bi&sql=1',
      token: 'platform',
      status: 400,
      code: VF,
    },
    // Wrong content types.
    {
      what: 'text/plain body',
      method: 'POST',
      path: `${T}/encrypt`,
      raw: '{"plaintext":"eA=="}',
      headers: { 'content-type': 'text/plain' },
      status: [400, 415],
      code: [VF, 'UNSUPPORTED_MEDIA_TYPE'],
    },
    {
      what: 'form body',
      method: 'PUT',
      path: `${T}/secrets/x`,
      raw: 'kind=generic&value=abc',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      status: [400, 415],
      code: [VF, 'UNSUPPORTED_MEDIA_TYPE'],
    },
    {
      what: 'latin1 charset',
      method: 'POST',
      path: `${T}/encrypt`,
      raw: '{"plaintext":"eA=="}',
      headers: { 'content-type': 'application/json; charset=latin1' },
      status: 415,
      code: 'UNSUPPORTED_MEDIA_TYPE',
    },
    {
      what: 'unknown content encoding',
      method: 'POST',
      path: `${T}/encrypt`,
      raw: '{"plaintext":"eA=="}',
      headers: { 'content-encoding': 'br2' },
      status: 415,
      code: 'UNSUPPORTED_MEDIA_TYPE',
    },
    {
      what: 'gzip that is not gzip',
      method: 'POST',
      path: `${T}/encrypt`,
      raw: '{"plaintext":"eA=="}',
      headers: { 'content-encoding': 'gzip' },
      status: [400, 415],
      code: ['MALFORMED_REQUEST', 'UNSUPPORTED_MEDIA_TYPE'],
    },
    // Huge or malformed context.
    {
      what: '33 context keys',
      method: 'POST',
      path: `${T}/encrypt`,
      body: {
        plaintext: 'eA==',
        context: Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`k${i}`, 'v'])),
      },
      status: 400,
      code: VF,
    },
    {
      what: 'context key over 128',
      method: 'POST',
      path: `${T}/encrypt`,
      body: { plaintext: 'eA==', context: { ['k'.repeat(129)]: 'v' } },
      status: 400,
      code: VF,
    },
    {
      what: 'context value over 1024',
      method: 'POST',
      path: `${T}/decrypt`,
      body: { ciphertext: ct, context: { k: 'v'.repeat(1025) } },
      status: 400,
      code: VF,
    },
    {
      what: 'empty context key',
      method: 'POST',
      path: `${T}/encrypt`,
      body: { plaintext: 'eA==', context: { '': 'v' } },
      status: 400,
      code: VF,
    },
    // A __proto__ key survives JSON.parse but is skipped by schema libraries: refused, never dropped.
    ...(
      [
        [`${T}/encrypt`, `{"plaintext":"eA==","context":{"__proto__":"x"}}`],
        [`${T}/encrypt`, `{"plaintext":"eA==","context":{"row":"1","__proto__":"x"}}`],
        [`${T}/decrypt`, `{"ciphertext":"${ct}","context":{"__proto__":"x"}}`],
        [`${T}/encrypt/batch`, `{"items":[{"plaintext":"eA==","context":{"__proto__":"x"}}]}`],
        [`${T}/decrypt/batch`, `{"items":[{"ciphertext":"${ct}","context":{"__proto__":"x"}}]}`],
        [`${T}/secrets/existing`, `{"kind":"generic","value":"ok-value","labels":{"__proto__":"x"}}`],
      ] as const
    ).map(([path, raw]): BadCase => ({
      what: `__proto__ key: ${raw.slice(0, 60)}`,
      method: path.endsWith('existing') ? 'PUT' : 'POST',
      path,
      raw,
      status: 400,
      code: VF,
    })),
    ...['user id', 'k'.repeat(65), 'ключ', 'a/b', 'k"'].map((key): BadCase => ({
      what: `encrypt context key outside [A-Za-z0-9._:-]{1,64}: ${JSON.stringify(key).slice(0, 20)}`,
      method: 'POST',
      path: `${T}/encrypt`,
      body: { plaintext: 'eA==', context: { [key]: 'v' } },
      status: 400,
      code: VF,
    })),
    // Secret formats per kind.
    {
      what: 'anthropic without sk-ant-',
      method: 'PUT',
      path: `${T}/secrets/existing`,
      body: { kind: 'anthropic', value: 'sk-proj-0123456789abcdefghijklmnop' },
      status: 400,
      code: VF,
    },
    {
      what: 'anthropic too short',
      method: 'PUT',
      path: `${T}/secrets/existing`,
      body: { kind: 'anthropic', value: 'sk-ant-short' },
      status: 400,
      code: VF,
    },
    {
      what: 'openai without sk-',
      method: 'PUT',
      path: `${T}/secrets/oa`,
      body: { kind: 'openai', value: 'pk-0123456789abcdefghijklmnop' },
      status: 400,
      code: VF,
    },
    {
      what: 'openai with a space',
      method: 'PUT',
      path: `${T}/secrets/oa`,
      body: { kind: 'openai', value: 'sk-0123456789 abcdefghijklmnop' },
      status: 400,
      code: VF,
    },
    {
      what: 'google of wrong length',
      method: 'PUT',
      path: `${T}/secrets/gg`,
      body: { kind: 'google', value: 'AIza0123456789' },
      status: 400,
      code: VF,
    },
    {
      what: 'azure with dashes',
      method: 'PUT',
      path: `${T}/secrets/az`,
      body: { kind: 'azure-openai', value: '0123456789-0123456789-0123456789-ab' },
      status: 400,
      code: VF,
    },
    {
      what: 'generic empty',
      method: 'PUT',
      path: `${T}/secrets/gen`,
      body: { kind: 'generic', value: '' },
      status: 400,
      code: VF,
    },
    {
      what: 'generic with NUL',
      method: 'PUT',
      path: `${T}/secrets/gen`,
      body: { kind: 'generic', value: 'abc\u0000def' },
      status: 400,
      code: VF,
    },
    {
      what: 'generic non-ASCII',
      method: 'PUT',
      path: `${T}/secrets/gen`,
      body: { kind: 'generic', value: 'pässword' },
      status: 400,
      code: VF,
    },
    {
      what: 'unknown kind',
      method: 'PUT',
      path: `${T}/secrets/gen`,
      body: { kind: 'aws', value: 'AKIA0123456789' },
      status: 400,
      code: VF,
    },
    {
      what: 'upper-case label key',
      method: 'PUT',
      path: `${T}/secrets/gen`,
      body: { kind: 'generic', value: 'ok-value', labels: { Team: 'x' } },
      status: 400,
      code: VF,
    },
    {
      what: 'too many labels',
      method: 'PUT',
      path: `${T}/secrets/gen`,
      body: {
        kind: 'generic',
        value: 'ok-value',
        labels: Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`l${i}`, 'v'])),
      },
      status: 400,
      code: VF,
    },
    {
      what: 'secret name with a leading dot',
      method: 'PUT',
      path: `${T}/secrets/.hidden`,
      body: { kind: 'generic', value: 'ok-value' },
      status: [400, 404],
      code: [VF, 'NOT_FOUND'],
    },
    {
      what: 'secret name too long',
      method: 'PUT',
      path: `${T}/secrets/${'n'.repeat(129)}`,
      body: { kind: 'generic', value: 'ok-value' },
      status: [400, 404],
      code: [VF, 'NOT_FOUND'],
    },
    {
      what: 'secret name with encoded slash',
      method: 'PUT',
      path: `${T}/secrets/a%2Fb`,
      body: { kind: 'generic', value: 'ok-value' },
      status: [400, 404],
      code: [VF, 'NOT_FOUND'],
    },
    {
      what: 'reveal of a version that does not exist',
      method: 'POST',
      path: `${T}/secrets/existing/reveal`,
      body: { version: 99 },
      status: 404,
      code: 'NOT_FOUND',
    },
    // Invalid tenant ids.
    {
      what: 'upper-case tenant id (service)',
      method: 'POST',
      path: '/v1/tenants/BI/encrypt',
      body: { plaintext: 'eA==' },
      status: [403, 404],
      code: ['FORBIDDEN', 'NOT_FOUND'],
    },
    {
      what: 'upper-case tenant id (admin)',
      method: 'GET',
      path: '/v1/tenants/BI',
      token: 'platform',
      status: 404,
      code: 'NOT_FOUND',
    },
    {
      what: 'tenant id with a leading dash',
      method: 'GET',
      path: '/v1/tenants/-bi/policy',
      token: 'platform',
      status: 404,
      code: 'NOT_FOUND',
    },
    {
      what: 'tenant id of 64 chars',
      method: 'GET',
      path: `/v1/tenants/${'b'.repeat(64)}/cmk`,
      token: 'platform',
      status: 404,
      code: 'NOT_FOUND',
    },
    {
      what: 'tenant id with encoded space',
      method: 'POST',
      path: '/v1/tenants/b%20i/decrypt',
      body: { ciphertext: ct },
      status: [403, 404],
      code: ['FORBIDDEN', 'NOT_FOUND'],
    },
    {
      what: 'create tenant with a bad id',
      method: 'POST',
      path: '/v1/tenants',
      token: 'platform',
      body: { id: 'Bad_Id', name: 'x' },
      status: 400,
      code: VF,
    },
    {
      what: 'create tenant with an empty name',
      method: 'POST',
      path: '/v1/tenants',
      token: 'platform',
      body: { id: 'bi-3', name: '' },
      status: 400,
      code: VF,
    },
    {
      what: 'token for a bad tenant id',
      method: 'POST',
      path: '/v1/tokens',
      token: 'platform',
      body: { name: 'x', role: 'service', tenantId: 'BAD' },
      status: 400,
      code: VF,
    },
    {
      what: 'token for a missing tenant',
      method: 'POST',
      path: '/v1/tokens',
      token: 'platform',
      body: { name: 'x', role: 'service', tenantId: 'nobody' },
      status: 404,
      code: 'NOT_FOUND',
    },
    {
      // Platform admins may issue platform-admin tokens now (issue 13: every token can be revoked,
      // so a second one must be possible); a platform-admin token bound to a tenant stays invalid.
      what: 'platform-admin token for a tenant',
      method: 'POST',
      path: '/v1/tokens',
      token: 'platform',
      body: { name: 'x', role: 'platform-admin', tenantId: 'bi' },
      status: 400,
      code: VF,
    },
    {
      what: 'service token without tenant',
      method: 'POST',
      path: '/v1/tokens',
      token: 'platform',
      body: { name: 'x', role: 'service' },
      status: 400,
      code: VF,
    },
    {
      what: 'audit for a bad tenant id',
      method: 'GET',
      path: '/v1/audit?tenantId=BAD',
      token: 'platform',
      status: 400,
      code: VF,
    },
    {
      what: 'audit limit 0',
      method: 'GET',
      path: '/v1/audit?limit=0',
      token: 'platform',
      status: 400,
      code: VF,
    },
    {
      what: 'audit limit not a number',
      method: 'GET',
      path: '/v1/audit?limit=ten',
      token: 'platform',
      status: 400,
      code: VF,
    },
    {
      what: 'audit bad outcome',
      method: 'GET',
      path: '/v1/audit?outcome=maybe',
      token: 'platform',
      status: 400,
      code: VF,
    },
    {
      what: 'audit bad date',
      method: 'GET',
      path: '/v1/audit?since=yesterday',
      token: 'platform',
      status: 400,
      code: VF,
    },
    {
      what: 'audit forged cursor',
      method: 'GET',
      path: '/v1/audit?cursor=AAAA',
      token: 'platform',
      status: 400,
      code: VF,
    },
    {
      what: 'audit repeated param',
      method: 'GET',
      path: '/v1/audit?tenantId=bi&tenantId=bi',
      token: 'platform',
      status: 400,
      code: VF,
    },
    {
      what: 'verify without tenant',
      method: 'GET',
      path: '/v1/audit/verify',
      token: 'platform',
      status: 400,
      code: VF,
    },
    {
      what: 'secrets list bad limit',
      method: 'GET',
      path: `${T}/secrets?limit=100000`,
      status: 400,
      code: VF,
    },
    // Customer keys: refused before anything changes.
    {
      what: 'unknown provider',
      method: 'PUT',
      path: `${T}/cmk`,
      token: 'admin',
      body: { provider: 'vault', keyRef: 'x' },
      status: 400,
      code: VF,
    },
    {
      what: 'empty key ref',
      method: 'PUT',
      path: `${T}/cmk`,
      token: 'admin',
      body: { provider: 'local', keyRef: '' },
      status: 400,
      code: VF,
    },
    {
      what: 'malformed local key ref',
      method: 'PUT',
      path: `${T}/cmk`,
      token: 'admin',
      body: { provider: 'local', keyRef: 'local:' },
      status: [400, 422],
      code: ['VALIDATION_FAILED', 'CMK_VERIFICATION_FAILED'],
    },
    {
      what: 'key ref of another provider',
      method: 'PUT',
      path: `${T}/cmk`,
      token: 'admin',
      body: { provider: 'local', keyRef: 'arn:aws:kms:eu-west-1:111122223333:key/abc' },
      status: [400, 422],
      code: ['VALIDATION_FAILED', 'CMK_VERIFICATION_FAILED'],
    },
    {
      what: 'provider not enabled',
      method: 'PUT',
      path: `${T}/cmk`,
      token: 'admin',
      body: {
        provider: 'aws-kms',
        keyRef: 'arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab',
      },
      status: [400, 422],
      code: ['VALIDATION_FAILED', 'CMK_VERIFICATION_FAILED'],
    },
    {
      what: 'local key that does not exist',
      method: 'PUT',
      path: `${T}/cmk`,
      token: 'admin',
      body: { provider: 'local', keyRef: 'local:nope' },
      status: 422,
      code: 'CMK_VERIFICATION_FAILED',
    },
    // Routes and methods that do not exist.
    {
      what: 'unknown method',
      method: 'PATCH',
      path: `${T}`,
      token: 'platform',
      body: {},
      status: [404, 405],
      code: 'NOT_FOUND',
    },
    {
      what: 'unknown route',
      method: 'POST',
      path: `${T}/rotate-everything`,
      body: {},
      status: 404,
      code: 'NOT_FOUND',
    },
  ];

  it('answers every bad request with its stable 4xx code, never a 500, and stores nothing', async () => {
    const before = await snapshot();
    const tokens = { service: t.service, admin: t.admin, platform: s.adminToken };
    const list = cases();
    expect(list.length).toBeGreaterThan(80);
    for (const c of list) {
      const kmsBeforeCase = await kmsCalls(s, { operation: 'unwrap' });
      const r = await s.call(c.method, c.path, {
        token: tokens[c.token ?? 'service'],
        ...(c.raw !== undefined ? { raw: c.raw } : c.body !== undefined ? { body: c.body } : {}),
        ...(c.headers ? { headers: c.headers } : {}),
      });
      const seen = { what: c.what, status: r.status, code: r.body?.code as unknown };
      const statuses = Array.isArray(c.status) ? c.status : [c.status];
      const codes = Array.isArray(c.code) ? c.code : [c.code];
      expect({ ...seen, ok: statuses.includes(r.status) && codes.includes(seen.code as string) }).toEqual({
        ...seen,
        ok: true,
      });
      expectProblem(r, statuses, codes);
      // Only a CMK change may reach the KMS (it unwraps with the old key before the new one is
      // refused); no other bad request costs a KMS call.
      if (!c.path.endsWith('/cmk'))
        expect({
          what: c.what,
          unwraps: (await kmsCalls(s, { operation: 'unwrap' })) - kmsBeforeCase,
        }).toEqual({ what: c.what, unwraps: 0 });
    }
    expect(await snapshot()).toEqual(before);
    // Nothing pollutes the process (the app runs in this process).
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(s.logs.join('')).not.toContain('"msg":"request failed"');
  });

  it('still serves good requests afterwards, and the accepted forms round-trip', async () => {
    const enc = await s.call('POST', `${T}/encrypt`, {
      token: t.service,
      body: { plaintext: b64('after'), context: { k: 'v'.repeat(1024) } },
    });
    expect(enc.status).toBe(200);
    const dec = await s.call('POST', `${T}/decrypt`, {
      token: t.service,
      body: { ciphertext: enc.body.ciphertext, context: { k: 'v'.repeat(1024) } },
    });
    expect(dec.body).toEqual({ plaintext: b64('after') });
    const charset = await s.call('POST', `${T}/encrypt`, {
      token: t.service,
      raw: JSON.stringify({ plaintext: b64('utf8') }),
      headers: { 'content-type': 'application/json; charset=utf-8' },
    });
    expect(charset.status).toBe(200);
    const reveal = await s.call('POST', `${T}/secrets/existing/reveal`, { token: t.service, body: {} });
    expect(reveal.body).toEqual({ value: 'sk-ant-api03-Existing0123456789abcdefgh', version: 1 });
  });
});
