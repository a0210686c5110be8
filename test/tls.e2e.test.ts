import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { copyFile, readFile } from 'node:fs/promises';
import { request as httpsRequest, Agent, type RequestOptions } from 'node:https';
import { connect, createServer, type TLSSocket } from 'node:tls';
import { createTestDatabase, type TestDatabase } from '@byok/store/testing';
import { startServiceProcess, tempDir, type ServiceProcess } from './support/service-process.js';
import { createTestCa, type IssuedCert, type TestCa } from './support/test-ca.js';

interface HttpsReply {
  status: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
  /** SHA-256 fingerprint of the certificate the server presented on this connection. */
  fingerprint: string;
  protocol: string | null;
  reusedSocket: boolean;
}

/** One HTTPS request trusting only `ca`, optionally with a client certificate and a given agent. */
function call(
  url: string,
  method: string,
  path: string,
  o: { ca: Buffer; token?: string; body?: unknown; client?: IssuedCert; agent?: Agent },
): Promise<HttpsReply> {
  const headers: Record<string, string> = {};
  if (o.token) headers.authorization = `Bearer ${o.token}`;
  const body = o.body === undefined ? undefined : JSON.stringify(o.body);
  if (body) headers['content-type'] = 'application/json';
  const opts: RequestOptions = {
    method,
    headers,
    ca: o.ca,
    ...(o.client ? { cert: o.client.cert, key: o.client.key } : {}),
    agent: o.agent ?? false,
  };
  return new Promise((resolve, reject) => {
    const req = httpsRequest(new URL(path, url), opts, (res) => {
      const socket = res.socket as TLSSocket;
      const fingerprint = socket.getPeerCertificate().fingerprint256;
      const protocol = socket.getProtocol();
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => {
        let parsed: unknown;
        try {
          parsed = text ? JSON.parse(text) : undefined;
        } catch {
          parsed = text;
        }
        resolve({
          status: res.statusCode ?? 0,
          body: parsed,
          fingerprint,
          protocol,
          reusedSocket: req.reusedSocket,
        });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** Whether a TLS handshake limited to TLS 1.0-1.1 completes against `port`. */
function handshakeTls11(port: number, ca: Buffer): Promise<'connected' | string> {
  return new Promise((resolve) => {
    const socket = connect({
      host: '127.0.0.1',
      port,
      ca,
      minVersion: 'TLSv1',
      maxVersion: 'TLSv1.1',
      // OpenSSL 3 refuses TLS 1.1 at its default security level; lower it on this side only, so a
      // refusal can come from the server alone.
      ciphers: 'DEFAULT@SECLEVEL=0',
    });
    socket.once('secureConnect', () => {
      socket.destroy();
      resolve('connected');
    });
    socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
  });
}

describe('TLS and listeners (started process, test CA made by openssl)', () => {
  const ADMIN = 'byok_e2e_tls_admin_token_0123456789abcdefgh';
  let db: TestDatabase;
  let dir: { path: string; remove: () => Promise<void> };
  let ca: TestCa;
  let otherCa: TestCa;
  let svc: ServiceProcess;
  let serviceToken: string;
  let serverCertFile: string;
  let serverKeyFile: string;

  beforeAll(async () => {
    db = await createTestDatabase();
    dir = await tempDir('byok-e2e-tls-');
    ca = createTestCa(dir.path, 'byok');
    otherCa = createTestCa(dir.path, 'stranger');
    const first = ca.issue('server-1', 'server');
    // The service reads these paths; the reload test overwrites them.
    serverCertFile = `${dir.path}/tls-cert.pem`;
    serverKeyFile = `${dir.path}/tls-key.pem`;
    await copyFile(first.certFile, serverCertFile);
    await copyFile(first.keyFile, serverKeyFile);
    svc = await startServiceProcess({
      DATABASE_URL: db.databaseUrl,
      DATA_DIR: dir.path,
      BOOTSTRAP_ADMIN_TOKEN: ADMIN,
      KMS_PROVIDERS: 'local',
      TLS_CERT_FILE: serverCertFile,
      TLS_KEY_FILE: serverKeyFile,
      TLS_CLIENT_CA_FILE: ca.certFile,
      LOG_LEVEL: 'info',
      ...(db.kind === 'pglite' ? { DATABASE_POOL_MAX: '1' } : {}),
    });
    // A tenant with a CMK (registered by its tenant admin) and a service token, set up without a
    // client certificate: only service tokens need one.
    const admin = (method: string, path: string, body?: unknown, token = ADMIN) =>
      call(svc.url, method, path, { ca: ca.cert, token, body });
    expect((await admin('POST', '/v1/tenants', { id: 'tls', name: 'TLS' })).status).toBe(201);
    expect((await admin('POST', '/v1/dev/local-kms/keys', { name: 'tls-cmk' })).status).toBe(201);
    const tenantAdmin = await admin('POST', '/v1/tokens', {
      name: 'tls tenant admin',
      role: 'tenant-admin',
      tenantId: 'tls',
    });
    expect(tenantAdmin.status).toBe(201);
    expect(
      (
        await admin(
          'PUT',
          '/v1/tenants/tls/cmk',
          { provider: 'local', keyRef: 'local:tls-cmk' },
          tenantAdmin.body.token as string,
        )
      ).status,
    ).toBe(200);
    const issued = await admin('POST', '/v1/tokens', {
      name: 'tls service',
      role: 'service',
      tenantId: 'tls',
    });
    expect(issued.status).toBe(201);
    serviceToken = issued.body.token as string;
  }, 120_000);
  afterAll(async () => {
    await svc?.stop();
    await db?.drop();
    await dir?.remove();
  });

  it('prints the HTTPS URL, the metrics URL and the mode on start', () => {
    expect(svc.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(svc.output()).toMatch(
      /\(development mode, pid \d+\) listening on https:\/\/127\.0\.0\.1:\d+ \(TLS, client certificates for service tokens;/,
    );
    expect(svc.metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });

  it('answers HTTPS (TLS 1.2 or newer) with a certificate the test CA issued', async () => {
    const r = await call(svc.url, 'GET', '/readyz', { ca: ca.cert });
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ status: 'ready' });
    expect(['TLSv1.2', 'TLSv1.3']).toContain(r.protocol);
    // A client that trusts another CA refuses the server's certificate.
    await expect(call(svc.url, 'GET', '/readyz', { ca: otherCa.cert })).rejects.toMatchObject({
      code: expect.stringMatching(/^(UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED_CERT_IN_CHAIN)$/),
    });
  });

  it('answers nothing over plain HTTP on the same port', async () => {
    const plain = `http://127.0.0.1:${svc.port}/readyz`;
    await expect(fetch(plain)).rejects.toThrow();
  });

  it('refuses a TLS 1.1 handshake (and the same client completes one with a server that allows it)', async () => {
    expect(await handshakeTls11(svc.port, ca.cert)).not.toBe('connected');
    // Control: this client can speak TLS 1.1, so the refusal above is the service's minimum version.
    const leaf = ca.issue('control', 'server');
    const control = createServer({
      cert: leaf.cert,
      key: leaf.key,
      minVersion: 'TLSv1',
      ciphers: 'DEFAULT@SECLEVEL=0',
    });
    control.on('secureConnection', (s) => s.end());
    await new Promise<void>((r) => control.listen(0, '127.0.0.1', r));
    try {
      const port = (control.address() as { port: number }).port;
      expect(await handshakeTls11(port, ca.cert)).toBe('connected');
    } finally {
      await new Promise<void>((r) => control.close(() => r()));
    }
  });

  it('refuses a service token without a client certificate, or with one from another CA, and accepts it with one', async () => {
    const encrypt = (client?: IssuedCert) =>
      call(svc.url, 'POST', '/v1/tenants/tls/encrypt', {
        ca: ca.cert,
        token: serviceToken,
        body: { plaintext: Buffer.from('hello').toString('base64'), context: { record: '1' } },
        ...(client ? { client } : {}),
      });
    const none = await encrypt();
    expect(none.status).toBe(401);
    expect(none.body).toMatchObject({ code: 'CLIENT_CERTIFICATE_REQUIRED', status: 401 });
    const stranger = await encrypt(otherCa.issue('intruder', 'client'));
    expect(stranger.status).toBe(401);
    expect(stranger.body.code).toBe('CLIENT_CERTIFICATE_REQUIRED');
    const ok = await encrypt(ca.issue('payments-service', 'client'));
    expect(ok.status).toBe(200);
    expect(typeof ok.body.ciphertext).toBe('string');
    // Admin tokens are people's tools: they work without a client certificate.
    expect((await call(svc.url, 'GET', '/v1/tenants/tls', { ca: ca.cert, token: ADMIN })).status).toBe(200);
  });

  it('serves /metrics on the metrics port only', async () => {
    expect((await call(svc.url, 'GET', '/metrics', { ca: ca.cert })).status).toBe(404);
    const scraped = await fetch(`${svc.metricsUrl}/metrics`);
    expect(scraped.status).toBe(200);
    expect(await scraped.text()).toContain('byok_kms_calls_total');
  });

  it('reloads the certificate on SIGHUP while an open keep-alive connection keeps working', async () => {
    const keepAlive = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const before = await call(svc.url, 'GET', '/healthz', { ca: ca.cert, agent: keepAlive });
      expect(before.status).toBe(200);
      const second = ca.issue('server-2', 'server');
      expect(second.cert.equals(await readFile(serverCertFile))).toBe(false);
      await copyFile(second.keyFile, serverKeyFile);
      await copyFile(second.certFile, serverCertFile);
      expect(svc.pid).toBeDefined();
      process.kill(svc.pid!, 'SIGHUP');
      // New connections get the new certificate once the service has read it.
      let fresh = before.fingerprint;
      for (let i = 0; i < 50 && fresh === before.fingerprint; i++) {
        fresh = (await call(svc.url, 'GET', '/healthz', { ca: ca.cert })).fingerprint;
        if (fresh === before.fingerprint) await new Promise((r) => setTimeout(r, 100));
      }
      expect(fresh).not.toBe(before.fingerprint);
      // The connection opened before the reload is still the same socket, and still answers.
      const after = await call(svc.url, 'GET', '/healthz', { ca: ca.cert, agent: keepAlive });
      expect(after.status).toBe(200);
      expect(after.reusedSocket).toBe(true);
      expect(after.fingerprint).toBe(before.fingerprint);
      expect(svc.output()).toContain('TLS certificate reloaded');
    } finally {
      keepAlive.destroy();
    }
  });
});
