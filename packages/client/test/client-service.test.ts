import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { startTestService, type TestService } from '../../../services/keyservice/test/harness.js';
import { ByokApiError, createClient, type ByokClient, type ClientOptions } from '../src/index.js';
import { describeOnRealPostgres } from '../../../test/support/real-postgres.js';

const OPENAI_KEY = 'sk-proj-Qw8Er7Ty6Ui5Op4As3Df2Gh1Jk0LmNbVcXz';

/** Counts the requests a client makes per "METHOD /path" (query stripped). */
function countingFetch(counts: Map<string, number>): typeof fetch {
  return (input, init) => {
    const key = `${init?.method ?? 'GET'} ${new URL(String(input)).pathname}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
    return fetch(input, init);
  };
}

const caught = async (p: Promise<unknown>): Promise<ByokApiError> => {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(ByokApiError);
  return e as ByokApiError;
};

describeOnRealPostgres('ByokClient against the real key service (in-process, real PostgreSQL)', () => {
  let svc: TestService;
  let admin: ByokClient;
  let service: ByokClient;
  let serviceToken: string;
  let tenantAdmin: ByokClient;
  let auditor: ByokClient;
  const counts = new Map<string, number>();
  const T = `cl-${randomBytes(4).toString('hex')}`;
  const as = (token: string, o: Partial<ClientOptions> = {}) =>
    createClient({ baseUrl: svc.url, token, fetch: countingFetch(counts), ...o });

  beforeAll(async () => {
    svc = await startTestService();
    admin = as(svc.adminToken);
  });
  afterAll(async () => {
    await svc?.close();
  });

  it('health and readiness answer without a token', async () => {
    await expect(admin.health()).resolves.toEqual({ status: 'ok' });
    await expect(admin.ready()).resolves.toEqual({ status: 'ready' });
  });

  it('sets up a tenant: create, read, register a CMK, set policy, issue tokens', async () => {
    const created = await admin.createTenant({ id: T, name: 'Client Co' });
    expect(created).toMatchObject({ id: T, name: 'Client Co', state: 'active' });
    await expect(admin.getTenant(T)).resolves.toEqual(created);

    const key = await svc.call('POST', '/v1/dev/local-kms/keys', {
      token: svc.adminToken,
      body: { name: `${T}-cmk` },
    });
    expect(key.status).toBe(201);
    // The tenant admin, never the platform admin, registers the CMK and sets the policy (issue 13).
    tenantAdmin = as((await admin.createToken({ name: 'ops', role: 'tenant-admin', tenantId: T })).token);
    await expect(admin.putCmk(T, { provider: 'local', keyRef: `local:${T}-cmk` })).rejects.toMatchObject({
      code: 'FORBIDDEN',
    });
    const cmk = await tenantAdmin.putCmk(T, { provider: 'local', keyRef: `local:${T}-cmk` });
    expect(cmk).toMatchObject({
      provider: 'local',
      keyRef: `local:${T}-cmk`,
      state: 'active',
      tenantKeyVersion: 1,
    });
    await expect(admin.getCmk(T)).resolves.toMatchObject({ keyRef: `local:${T}-cmk` });

    const policy = await tenantAdmin.putPolicy(T, {
      cacheTtlSeconds: 30,
      allowedPurposes: { byRole: { service: ['llm-inference', 'billing'] } },
    });
    expect(policy).toEqual({
      cacheTtlSeconds: 30,
      allowedPurposes: { byRole: { service: ['llm-inference', 'billing'] } },
    });
    await expect(admin.getPolicy(T)).resolves.toEqual(policy);

    const svcToken = await admin.createToken({ name: 'ingest', role: 'service', tenantId: T });
    expect(svcToken).toMatchObject({ name: 'ingest', role: 'service', tenantId: T });
    serviceToken = svcToken.token;
    service = as(serviceToken);
    auditor = as((await admin.createToken({ name: 'sec', role: 'auditor', tenantId: T })).token);
    await expect(service.getTenant(T)).resolves.toMatchObject({ id: T });
  });

  it('encrypts and decrypts bytes with a bound context and a declared purpose', async () => {
    const plaintext = new Uint8Array([0, 1, 2, 250, 255]);
    const context = { record: 'invoice-42', table: 'billing' };
    const enc = await service.encrypt(T, plaintext, context);
    expect(enc.keyVersion).toBe(1);
    expect(enc.ciphertext).toMatch(/^[A-Za-z0-9_-]+$/);
    const dec = await service.decrypt(T, enc.ciphertext, { context, purpose: 'billing' });
    expect(Buffer.isBuffer(dec)).toBe(true);
    expect([...dec]).toEqual([...plaintext]);
    // A subarray view is encoded from its own bytes, not the whole underlying buffer.
    const view = new Uint8Array([9, 9, 7, 8, 9, 9]).subarray(2, 4);
    const v = await service.encrypt(T, view);
    expect([...(await service.decrypt(T, v.ciphertext, { purpose: 'billing' }))]).toEqual([7, 8]);

    const moved = await caught(
      service.decrypt(T, enc.ciphertext, {
        context: { ...context, record: 'invoice-43' },
        purpose: 'billing',
      }),
    );
    expect(moved).toMatchObject({ code: 'INVALID_CIPHERTEXT', status: 400 });
    expect(moved.requestId).toEqual(expect.any(String));
    const purpose = await caught(service.decrypt(T, enc.ciphertext, { context, purpose: 'marketing' }));
    expect(purpose).toMatchObject({ code: 'PURPOSE_NOT_ALLOWED', status: 403 });
  });

  it('batches 2,500 items in chunks of at most 1000 and returns results in input order', async () => {
    const items = Array.from({ length: 2500 }, (_, i) => ({
      plaintext: Buffer.from(`item-${i}`),
      context: { row: String(i) },
    }));
    counts.clear();
    const enc = await service.encryptBatch(T, items);
    expect(counts.get(`POST /v1/tenants/${T}/encrypt/batch`)).toBe(3);
    expect(enc).toHaveLength(2500);
    const ciphertexts = enc.map((r, i) => {
      if (!r.ok) throw new Error(`item ${i} failed: ${r.error.code}`);
      return r.ciphertext;
    });

    // Item 1700 (in the second chunk) gets the wrong context: only it fails.
    const dec = await service.decryptBatch(
      T,
      ciphertexts.map((c, i) => ({ ciphertext: c, context: { row: i === 1700 ? 'other' : String(i) } })),
      { purpose: 'llm-inference' },
    );
    expect(counts.get(`POST /v1/tenants/${T}/decrypt/batch`)).toBe(3);
    expect(dec).toHaveLength(2500);
    dec.forEach((r, i) => {
      if (i === 1700) expect(r).toMatchObject({ ok: false, error: { code: 'INVALID_CIPHERTEXT' } });
      else expect(r.ok && r.plaintext.toString()).toBe(`item-${i}`);
    });
    await expect(service.encryptBatch(T, [])).resolves.toEqual([]);
  });

  it('splits batches by size as well, staying under the service body limit', async () => {
    const big = Array.from({ length: 4 }, (_, i) => ({ plaintext: randomBytes(1024 * 1024 - i) }));
    counts.clear();
    const enc = await service.encryptBatch(T, big);
    // 4 x ~1.4 MB of base64 at a 3 MiB cap: two per request.
    expect(counts.get(`POST /v1/tenants/${T}/encrypt/batch`)).toBe(2);
    expect(enc.every((r) => r.ok)).toBe(true);
    // Without the size cap the service refuses the body, and the problem surfaces with its code.
    const e = await caught(as(serviceToken, { maxBatchBytes: 64 * 1024 * 1024 }).encryptBatch(T, big));
    expect(e).toMatchObject({ code: 'PAYLOAD_TOO_LARGE', status: 413 });
  });

  it('stores an AI provider key, lists it masked, pages through secrets, reveals and deletes', async () => {
    const meta = await service.putSecret(T, 'openai-prod', {
      kind: 'openai',
      value: OPENAI_KEY,
      labels: { team: 'ml' },
    });
    expect(meta).toMatchObject({ name: 'openai-prod', kind: 'openai', version: 1, labels: { team: 'ml' } });
    expect(JSON.stringify(meta)).not.toContain(OPENAI_KEY);
    expect(meta.hint).toMatch(/^sk-\.\.\./);
    const v2 = await service.putSecret(T, 'openai-prod', { kind: 'openai', value: `${OPENAI_KEY}2` });
    expect(v2.version).toBe(2);
    await expect(service.getSecret(T, 'openai-prod')).resolves.toMatchObject({
      name: 'openai-prod',
      version: 2,
    });

    await expect(service.revealSecret(T, 'openai-prod', { purpose: 'llm-inference' })).resolves.toEqual({
      value: `${OPENAI_KEY}2`,
      version: 2,
    });
    await expect(
      service.revealSecret(T, 'openai-prod', { version: 1, purpose: 'llm-inference' }),
    ).resolves.toEqual({
      value: OPENAI_KEY,
      version: 1,
    });

    for (let i = 0; i < 4; i++)
      await service.putSecret(T, `generic-${i}`, { kind: 'generic', value: `value number ${i}` });
    const page = await service.listSecrets(T, { limit: 2 });
    expect(page.secrets.map((x) => x.name)).toEqual(['generic-0', 'generic-1']);
    expect(page.nextCursor).toBe('generic-1');
    const next = await service.listSecrets(T, { limit: 2, cursor: page.nextCursor ?? undefined });
    expect(next.secrets.map((x) => x.name)).toEqual(['generic-2', 'generic-3']);
    counts.clear();
    const all: string[] = [];
    for await (const m of service.iterateSecrets(T, { limit: 2 })) all.push(m.name);
    expect(all).toEqual(['generic-0', 'generic-1', 'generic-2', 'generic-3', 'openai-prod']);
    expect(counts.get(`GET /v1/tenants/${T}/secrets`)).toBe(3);

    await service.deleteSecret(T, 'generic-0');
    expect(await caught(service.getSecret(T, 'generic-0'))).toMatchObject({ code: 'NOT_FOUND', status: 404 });
    expect(await caught(service.deleteSecret(T, 'generic-0'))).toMatchObject({ code: 'NOT_FOUND' });
  });

  it('checks a secret against its kind before sending, without echoing the value', async () => {
    counts.clear();
    const e = await caught(service.putSecret(T, 'anthropic', { kind: 'anthropic', value: OPENAI_KEY }));
    expect(e).toMatchObject({ code: 'REQUEST_INVALID', status: 0 });
    expect(e.errors?.[0]?.path).toBe('value');
    expect(JSON.stringify({ m: e.message, d: e.detail, e: e.errors })).not.toContain(OPENAI_KEY);
    expect(counts.size).toBe(0);
    expect(await caught(service.getSecret(T, '../etc'))).toMatchObject({ code: 'REQUEST_INVALID' });
    expect(await caught(service.getTenant('Not_A_Tenant'))).toMatchObject({ code: 'REQUEST_INVALID' });
    expect(await caught(service.encrypt(T, 'text' as unknown as Uint8Array))).toMatchObject({
      code: 'REQUEST_INVALID',
    });
    expect(await caught(service.listSecrets(T, { limit: 0 }))).toMatchObject({ code: 'REQUEST_INVALID' });
    expect(counts.size).toBe(0);
  });

  it('surfaces service problems with stable codes, status and request id', async () => {
    const unauth = await caught(as('byok_not_a_real_token_000000000000').getTenant(T));
    expect(unauth).toMatchObject({ code: 'UNAUTHENTICATED', status: 401 });
    expect(unauth.requestId).toEqual(expect.any(String));
    expect(unauth.problem?.title).toEqual(expect.any(String));

    const other = await svc.tenant(`${T}-b`);
    const foreign = as(other.service);
    expect(await caught(foreign.revealSecret(T, 'openai-prod'))).toMatchObject({
      code: 'FORBIDDEN',
      status: 403,
    });
    expect(await caught(foreign.encrypt(T, new Uint8Array([1])))).toMatchObject({ code: 'FORBIDDEN' });
    expect(await caught(tenantAdmin.revealSecret(T, 'openai-prod'))).toMatchObject({ code: 'FORBIDDEN' });
    expect(await caught(admin.createTenant({ id: T, name: 'again' }))).toMatchObject({
      code: 'CONFLICT',
      status: 409,
    });
    expect(await caught(service.createToken({ name: 'x', role: 'service', tenantId: T }))).toMatchObject({
      code: 'FORBIDDEN',
    });
    expect(await caught(admin.getTenant('no-such-tenant'))).toMatchObject({ code: 'NOT_FOUND', status: 404 });
  });

  it('reports KEY_REVOKED when the customer key is disabled, with no secret in the error', async () => {
    await tenantAdmin.putPolicy(T, { cacheTtlSeconds: 0 });
    expect(
      (await svc.call('POST', `/v1/dev/local-kms/keys/${T}-cmk/disable`, { token: svc.adminToken })).status,
    ).toBe(200);
    try {
      const e = await caught(service.revealSecret(T, 'openai-prod', { purpose: 'llm-inference' }));
      expect(e).toMatchObject({ code: 'KEY_REVOKED', status: 403, attempts: 1 });
      expect(JSON.stringify({ ...e, message: e.message })).not.toContain(OPENAI_KEY);
    } finally {
      expect(
        (await svc.call('POST', `/v1/dev/local-kms/keys/${T}-cmk/enable`, { token: svc.adminToken })).status,
      ).toBe(200);
    }
    // Without a declared purpose this tenant's policy refuses; with one, access is back.
    expect(await caught(service.revealSecret(T, 'openai-prod'))).toMatchObject({
      code: 'PURPOSE_NOT_ALLOWED',
    });
    await expect(service.revealSecret(T, 'openai-prod', { purpose: 'llm-inference' })).resolves.toMatchObject(
      {
        version: 2,
      },
    );
  });

  it('queries the audit log a page at a time, iterates across pages and verifies the chain', async () => {
    const reveals = await auditor.queryAudit({ tenantId: T, action: 'secret.reveal' });
    expect(reveals.events.map((e) => e.outcome)).toEqual([
      'success', // current version
      'success', // version 1
      'denied', // another tenant's service token
      'denied', // a tenant admin never sees plaintext
      'failure', // customer key disabled
      'denied', // no declared purpose
      'success', // key re-enabled
    ]);
    expect(reveals.events.every((e) => e.tenantId === T)).toBe(true);
    expect(JSON.stringify(reveals)).not.toContain(OPENAI_KEY);

    const first = await auditor.queryAudit({ tenantId: T, limit: 3 });
    expect(first.events).toHaveLength(3);
    expect(first.nextCursor).toEqual(expect.any(String));
    counts.clear();
    const seqs: number[] = [];
    for await (const e of auditor.iterateAudit({ tenantId: T, limit: 5 })) seqs.push(e.seq);
    expect(seqs.length).toBeGreaterThan(10);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(new Set(seqs).size).toBe(seqs.length);
    expect(counts.get('GET /v1/audit')).toBe(Math.ceil(seqs.length / 5));

    await expect(auditor.verifyAudit(T)).resolves.toMatchObject({ ok: true, checked: seqs.length });
    expect(await caught(auditor.verifyAudit(`${T}-b`))).toMatchObject({ code: 'FORBIDDEN' });
    expect(await caught(auditor.queryAudit({ outcome: 'maybe' as 'success' }))).toMatchObject({
      code: 'REQUEST_INVALID',
    });
  });
});
