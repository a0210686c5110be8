import { createServer, type Server } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
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

describe('Azure key references: only Key Vault hosts, no connection elsewhere', () => {
  let rx: Awaited<ReturnType<typeof startCountingListener>>;
  let strict: TestService;
  let allowing: TestService;
  beforeAll(async () => {
    rx = await startCountingListener();
    strict = await startTestService({ env: azureEnv });
    allowing = await startTestService({ env: { ...azureEnv, AZURE_KEY_VAULT_HOST_SUFFIXES: '127.0.0.1' } });
  });
  afterAll(async () => {
    await strict?.close();
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
      expect([keyRef, r.status]).toEqual([keyRef, 400]);
      expect(r.text).not.toMatch(/ECONNRESET|ECONNREFUSED/);
    }
    expect(rx.state.connections).toBe(0);
  });

  it('connects when the operator configures the host as a Key Vault suffix (the check is not simply off)', async () => {
    const t = await allowing.tenant('az-emu');
    const r = await allowing.call('PUT', '/v1/tenants/az-emu/cmk', {
      token: t.admin,
      body: { provider: 'azure-kv', keyRef: `https://127.0.0.1:${rx.port}/keys/x` },
    });
    expect(r.status).not.toBe(400);
    expect(rx.state.connections).toBeGreaterThan(0);
  });
});
