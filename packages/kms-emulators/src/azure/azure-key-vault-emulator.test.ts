import { request } from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startAzureKeyVaultEmulator, type AzureKeyVaultEmulator } from './azure-key-vault-emulator.js';

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  json: Record<string, unknown>;
}

const API = 'api%2Dversion=2025-07-01';

describe('Azure Key Vault emulator (raw HTTPS)', () => {
  let emu: AzureKeyVaultEmulator;
  let token = '';

  function call(
    method: string,
    path: string,
    body?: unknown,
    opts: { auth?: string; form?: string; ca?: string | null } = {},
  ): Promise<Reply> {
    const url = new URL(path, emu.url);
    const data = opts.form ?? (body === undefined ? undefined : JSON.stringify(body));
    const headers: Record<string, string> = {};
    if (data !== undefined) {
      headers['content-type'] = opts.form ? 'application/x-www-form-urlencoded' : 'application/json';
      headers['content-length'] = String(Buffer.byteLength(data));
    }
    const auth = opts.auth ?? (token ? `Bearer ${token}` : undefined);
    if (auth) headers['authorization'] = auth;
    return new Promise((resolve, reject) => {
      const req = request(
        url,
        { method, headers, ...(opts.ca === null ? {} : { ca: opts.ca ?? emu.caPem }) },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            resolve({
              status: res.statusCode ?? 0,
              headers: res.headers,
              json: text ? (JSON.parse(text) as Record<string, unknown>) : {},
            });
          });
        },
      );
      req.on('error', reject);
      if (data !== undefined) req.write(data);
      req.end();
    });
  }

  const tokenForm = (secret: string): string =>
    new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: emu.clientId,
      client_secret: secret,
      scope: 'https://vault.azure.net/.default',
    }).toString();

  beforeAll(async () => {
    emu = await startAzureKeyVaultEmulator({ keys: [{ name: 'seed', kty: 'RSA' }] });
    const r = await call('POST', `/${emu.tenantId}/oauth2/v2.0/token`, undefined, {
      form: tokenForm(emu.clientSecret),
      auth: '',
    });
    token = String(r.json['access_token']);
  });
  afterAll(async () => {
    await emu.close();
  });

  it('serves TLS with a certificate only the test CA vouches for', async () => {
    await expect(call('GET', `/keys/seed?${API}`, undefined, { ca: null })).rejects.toThrow(
      /self-signed|unable to (verify|get)/i,
    );
  });

  it('challenges an unauthenticated request with 401 and a Bearer authority/resource', async () => {
    const r = await call('GET', `/keys/seed?${API}`, undefined, { auth: '' });
    expect(r.status).toBe(401);
    expect(String(r.headers['www-authenticate'])).toBe(
      `Bearer authorization="${emu.url}/${emu.tenantId}", resource="https://vault.azure.net"`,
    );
    expect(r.headers['x-ms-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('rejects a bearer token it did not issue', async () => {
    const parts = token.split('.');
    const forged = `${parts[0]}.${parts[1]}.${'A'.repeat(43)}`;
    expect((await call('GET', `/keys/seed?${API}`, undefined, { auth: `Bearer ${forged}` })).status).toBe(
      401,
    );
  });

  it('answers 401 invalid_client for a wrong client secret', async () => {
    const r = await call('POST', `/${emu.tenantId}/oauth2/v2.0/token`, undefined, {
      form: tokenForm('nope'),
      auth: '',
    });
    expect(r.status).toBe(401);
    expect(r.json['error']).toBe('invalid_client');
  });

  it('requires api-version (read from the encoded api%2Dversion form too)', async () => {
    const r = await call('GET', '/keys/seed');
    expect(r.status).toBe(400);
    expect((r.json['error'] as { code: string }).code).toBe('BadParameter');
    expect((await call('GET', `/keys/seed?${API}`)).status).toBe(200);
  });

  it.each(['RSA-OAEP-256', 'RSA-OAEP', 'RSA1_5'])('wraps and unwraps with %s on an RSA key', async (alg) => {
    const value = Buffer.alloc(32, 7).toString('base64url');
    const w = await call('POST', `/keys/seed//wrapkey?${API}`, { alg, value });
    expect(w.status).toBe(200);
    expect(String(w.json['kid'])).toMatch(new RegExp(`/keys/seed/[0-9a-f]{32}$`));
    const u = await call('POST', `/keys/seed//unwrapkey?${API}`, { alg, value: w.json['value'] });
    expect(u.json['value']).toBe(value);
  });

  it('wraps with A256KW on an oct-HSM key and rejects a tampered blob with 400 BadParameter', async () => {
    emu.createKey({ name: 'hsm', kty: 'oct-HSM' });
    const value = Buffer.alloc(64, 9).toString('base64url');
    const w = await call('POST', `/keys/hsm//wrapkey?${API}`, { alg: 'A256KW', value });
    const wrapped = Buffer.from(String(w.json['value']), 'base64url');
    expect(wrapped.length).toBe(72);
    const u = await call('POST', `/keys/hsm//unwrapkey?${API}`, { alg: 'A256KW', value: w.json['value'] });
    expect(u.json['value']).toBe(value);
    wrapped[0] = (wrapped[0] ?? 0) ^ 1;
    const bad = await call('POST', `/keys/hsm//unwrapkey?${API}`, {
      alg: 'A256KW',
      value: wrapped.toString('base64url'),
    });
    expect(bad.status).toBe(400);
    expect((bad.json['error'] as { code: string }).code).toBe('BadParameter');
    const rsaOnHsm = await call('POST', `/keys/hsm//wrapkey?${API}`, { alg: 'RSA-OAEP-256', value });
    expect(rsaOnHsm.status).toBe(400);
  });

  it('refuses a disabled key with 403 KeyDisabled and an unknown key with 404 KeyNotFound', async () => {
    const k = emu.createKey({ name: 'dis', kty: 'RSA' });
    const p = await call('PATCH', `/keys/dis/${k.version}?${API}`, { attributes: { enabled: false } });
    expect((p.json['attributes'] as { enabled: boolean }).enabled).toBe(false);
    const w = await call('POST', `/keys/dis/${k.version}/wrapkey?${API}`, {
      alg: 'RSA-OAEP-256',
      value: 'AAAA',
    });
    expect(w.status).toBe(403);
    expect(w.json).toEqual({
      error: {
        code: 'Forbidden',
        message: 'Operation wrapKey is not allowed on a disabled key.',
        innererror: { code: 'KeyDisabled' },
      },
    });
    const g = await call('GET', `/keys/dis?${API}`);
    expect((g.json['attributes'] as { enabled: boolean }).enabled).toBe(false);
    const missing = await call('GET', `/keys/nope?${API}`);
    expect(missing.status).toBe(404);
    expect((missing.json['error'] as { code: string }).code).toBe('KeyNotFound');
  });

  it('soft-deletes: 404 afterwards, visible under /deletedkeys, recoverable', async () => {
    emu.createKey({ name: 'del', kty: 'RSA' });
    expect((await call('DELETE', `/keys/del?${API}`)).status).toBe(200);
    expect((await call('GET', `/keys/del?${API}`)).status).toBe(404);
    const d = await call('GET', `/deletedkeys/del?${API}`);
    expect(d.json['recoveryId']).toBe(`${emu.url}/deletedkeys/del`);
    expect((await call('POST', `/deletedkeys/del/recover?${API}`)).status).toBe(200);
    expect((await call('GET', `/keys/del?${API}`)).status).toBe(200);
  });

  it('creates keys through the API with PUT or POST /keys/{name}/create', async () => {
    const r = await call('POST', `/keys/made/create?${API}`, { kty: 'RSA', key_size: 3072 });
    expect((r.json['key'] as { kty: string }).kty).toBe('RSA');
    expect((await call('PUT', `/keys/made2/create?${API}`, { kty: 'oct-HSM' })).status).toBe(200);
    expect((await call('POST', `/keys/bad/create?${API}`, { kty: 'EC' })).status).toBe(400);
  });

  it('offers the controls over HTTP under /__emulator', async () => {
    expect((await call('POST', '/__emulator/keys', { name: 'adm', kty: 'RSA' })).status).toBe(201);
    await call('POST', '/__emulator/throttle', { count: 1, retryAfterSeconds: 3 });
    const t = await call('GET', `/keys/adm?${API}`);
    expect(t.status).toBe(429);
    expect(t.headers['retry-after']).toBe('3');
    await call('POST', '/__emulator/deny', { name: 'adm', denied: true });
    const d = await call('GET', `/keys/adm?${API}`);
    expect(d.status).toBe(403);
    expect((d.json['error'] as { innererror: { code: string } }).innererror.code).toBe('ForbiddenByRbac');
    await call('POST', '/__emulator/reset', {});
    expect((await call('GET', `/keys/adm?${API}`)).status).toBe(200);
    const calls = await call('GET', '/__emulator/calls?op=getKey');
    expect(calls.json['count']).toBe(emu.callCount('getKey'));
    expect((await call('POST', '/__emulator/throttle', { count: -1 })).status).toBe(400);
  });
});
