import { createServer, type Server } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Resolver } from '@byok/egress';
import { startTestService, type TestService } from './harness.js';

/** A TCP listener on 127.0.0.1 that counts connections and closes them. */
async function startCountingListener() {
  const state = { connections: 0 };
  const server: Server = createServer((sock) => {
    state.connections += 1;
    sock.destroy();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { state, server, port: (server.address() as AddressInfo).port };
}

// Azure enabled with a client secret: building the provider makes no call.
const azureEnv = {
  KMS_PROVIDERS: 'local,azure-kv',
  AZURE_TENANT_ID: '00000000-0000-0000-0000-000000000001',
  AZURE_CLIENT_ID: '00000000-0000-0000-0000-000000000002',
  AZURE_CLIENT_SECRET: 'not-a-real-secret',
  KMS_MAX_ATTEMPTS: '1',
};

// A Key Vault name that resolves to loopback, as a DNS rebinding attacker would arrange.
const REBIND_HOST = 'rebind.vault.azure.net';
const testResolver: Resolver = async (host) => {
  if (host === REBIND_HOST) return [{ address: '127.0.0.1', family: 4 }];
  throw new Error(`no such host ${host}`);
};

describe('Azure key references: only Key Vault hosts, no connection elsewhere', () => {
  let rx: Awaited<ReturnType<typeof startCountingListener>>;
  let strict: TestService;
  let guarded: TestService;
  let allowing: TestService;
  beforeAll(async () => {
    rx = await startCountingListener();
    strict = await startTestService({ env: azureEnv });
    // 127.0.0.1 passes the vault host check, but the egress guard still refuses loopback.
    guarded = await startTestService({
      env: { ...azureEnv, AZURE_KEY_VAULT_HOST_SUFFIXES: '127.0.0.1' },
      egressResolver: testResolver,
    });
    allowing = await startTestService({
      env: { ...azureEnv, AZURE_KEY_VAULT_HOST_SUFFIXES: '127.0.0.1', EGRESS_ALLOW_CIDRS: '127.0.0.0/8' },
      egressResolver: testResolver,
    });
  });
  afterAll(async () => {
    await strict?.close();
    await guarded?.close();
    await allowing?.close();
    await new Promise((r) => rx?.server.close(r));
  });

  it('refuses a keyRef at a literal IP or a non-Key-Vault host with 400, connecting nowhere', async () => {
    const t = await strict.tenant('az-ssrf');
    for (const keyRef of [
      `https://127.0.0.1:${rx.port}/keys/x`,
      `https://localhost:${rx.port}/keys/x`,
      'https://169.254.169.254/keys/x',
      'https://vault.azure.net.attacker.example/keys/x',
      'https://example.com/keys/x',
    ]) {
      const r = await strict.call('PUT', '/v1/tenants/az-ssrf/cmk', {
        token: t.admin,
        body: { provider: 'azure-kv', keyRef },
      });
      expect([keyRef, r.status, r.body.code]).toEqual([keyRef, 400, 'VALIDATION_FAILED']);
      expect(r.body.errors).toEqual([expect.objectContaining({ path: 'keyRef' })]);
      expect(r.text).not.toMatch(/ECONNRESET|ECONNREFUSED/);
    }
    expect(rx.state.connections).toBe(0);
    // Nothing stored: the tenant keeps its local CMK.
    expect((await strict.call('GET', '/v1/tenants/az-ssrf/cmk', { token: t.admin })).text).not.toContain(
      'azure-kv',
    );
  });

  it('connects nowhere when an allowed vault host is or resolves to loopback and EGRESS_ALLOW_CIDRS is unset', async () => {
    const t = await guarded.tenant('az-guard');
    for (const keyRef of [
      `https://127.0.0.1:${rx.port}/keys/x`,
      `https://${REBIND_HOST}:${rx.port}/keys/x`,
    ]) {
      const r = await guarded.call('PUT', '/v1/tenants/az-guard/cmk', {
        token: t.admin,
        body: { provider: 'azure-kv', keyRef },
      });
      expect([keyRef, r.status]).toEqual([keyRef, 422]);
      // Refused by the guard before connecting: no port-scanner signal in the answer.
      expect(r.body.detail).toContain('EGRESS_REFUSED');
      expect(r.text).not.toMatch(/ECONNRESET|ECONNREFUSED/);
    }
    expect(rx.state.connections).toBe(0);
  });

  it('connects with EGRESS_ALLOW_CIDRS=127.0.0.0/8 (the guard is not simply off)', async () => {
    const t = await allowing.tenant('az-emu');
    const literal = await allowing.call('PUT', '/v1/tenants/az-emu/cmk', {
      token: t.admin,
      body: { provider: 'azure-kv', keyRef: `https://127.0.0.1:${rx.port}/keys/x` },
    });
    expect(literal.status).toBe(422);
    const afterLiteral = rx.state.connections;
    expect(afterLiteral).toBeGreaterThan(0);
    const named = await allowing.call('PUT', '/v1/tenants/az-emu/cmk', {
      token: t.admin,
      body: { provider: 'azure-kv', keyRef: `https://${REBIND_HOST}:${rx.port}/keys/x` },
    });
    expect(named.status).toBe(422);
    expect(rx.state.connections).toBeGreaterThan(afterLiteral);
  });
});
