import type { AddressInfo } from 'node:net';
import type { EgressGuard, Resolver } from '@byok/egress';
import type { Server } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { KmsProvider } from '@byok/kms';
import { createTestDatabase, type TestDatabase } from '@byok/store/testing';
import { assertContractReply } from '../../../test/support/contract-check.js';
import { loadConfig } from '../src/config.js';
import { createLogger } from '../src/logger.js';
import { buildService, type Service } from '../src/service.js';

/** The answer to one HTTP call made by a test. */
export interface Reply {
  status: number;
  headers: Headers;
  text: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
}

/** A service started in-process on a fresh database and a random port. */
export interface TestService {
  url: string;
  adminToken: string;
  db: TestDatabase;
  service: Service;
  dataDir: string;
  /** Every log line the service wrote (the logger runs at debug level). */
  logs: string[];
  /** The metrics listener (`http://127.0.0.1:port`), separate from the API's `url`. */
  metricsUrl: string;
  /** GET /metrics on the metrics listener, as Prometheus scrapes it. */
  scrape(): Promise<Reply>;
  call(
    method: string,
    path: string,
    opts?: { token?: string; body?: unknown; raw?: string; headers?: Record<string, string> },
  ): Promise<Reply>;
  /** Creates tenant `id` with a fresh local CMK; returns its tokens. */
  tenant(id: string): Promise<{ service: string; admin: string; auditor: string; keyName: string }>;
  close(): Promise<void>;
}

/** Starts the real app (real PostgreSQL when DATABASE_URL is set) with a capturing debug logger. */
export async function startTestService(
  opts: {
    env?: Record<string, string>;
    providers?: KmsProvider[];
    /** Another instance's database: this service joins it (and leaves it in place on close). */
    sharedDb?: TestDatabase;
    /** The egress guard (tests inject a resolver through it). */
    egress?: EgressGuard;
    /** The DNS resolver of the guard built from the env (`EGRESS_ALLOW_CIDRS` still applies). */
    egressResolver?: Resolver;
  } = {},
): Promise<TestService> {
  const db = opts.sharedDb ?? (await createTestDatabase());
  const dataDir = await mkdtemp(join(tmpdir(), 'byok-svc-'));
  const adminToken = `byok_test_admin_${Math.random().toString(36).slice(2)}_0123456789abcdef`;
  const config = loadConfig({
    BYOK_MODE: 'development',
    DATABASE_URL: db.databaseUrl,
    DATABASE_POOL_MAX: db.kind === 'pglite' ? '1' : '10',
    DATA_DIR: dataDir,
    BOOTSTRAP_ADMIN_TOKEN: adminToken,
    LOG_LEVEL: 'debug',
    KMS_PROVIDERS: 'local',
    ...opts.env,
  });
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      logs.push(chunk.toString('utf8'));
      cb();
    },
  });
  const service = await buildService(config, {
    logger: createLogger('debug', sink),
    // Every response is checked against its contract entry; a mismatch answers 500.
    app: { validateResponses: true },
    ...(opts.providers ? { providers: opts.providers } : {}),
    ...(opts.egress ? { egress: opts.egress } : {}),
    ...(opts.egressResolver ? { egressResolver: opts.egressResolver } : {}),
  });
  const server: Server = service.app.listen(0, '127.0.0.1');
  await new Promise<void>((resolve) => server.once('listening', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const metricsServer: Server = service.metricsApp.listen(0, '127.0.0.1');
  await new Promise<void>((resolve) => metricsServer.once('listening', resolve));
  const metricsUrl = `http://127.0.0.1:${(metricsServer.address() as AddressInfo).port}`;

  const call: TestService['call'] = async (method, path, o = {}) => {
    const headers: Record<string, string> = { ...o.headers };
    if (o.token) headers.authorization = `Bearer ${o.token}`;
    let body: string | undefined;
    if (o.raw !== undefined) body = o.raw;
    else if (o.body !== undefined) body = JSON.stringify(o.body);
    if (body !== undefined && !headers['content-type']) headers['content-type'] = 'application/json';
    const res = await fetch(`${url}${path}`, { method, headers, ...(body !== undefined ? { body } : {}) });
    const text = await res.text();
    assertContractReply(method, path, res.status, res.headers.get('content-type'), text);
    let parsed: unknown = undefined;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    return { status: res.status, headers: res.headers, text, body: parsed };
  };

  const must = (r: Reply, status: number, what: string): Reply => {
    if (r.status !== status) throw new Error(`${what}: expected ${status}, got ${r.status} ${r.text}`);
    return r;
  };

  return {
    url,
    adminToken,
    db,
    service,
    dataDir,
    logs,
    metricsUrl,
    async scrape() {
      const res = await fetch(`${metricsUrl}/metrics`);
      const text = await res.text();
      assertContractReply('GET', '/metrics', res.status, res.headers.get('content-type'), text);
      return { status: res.status, headers: res.headers, text, body: undefined };
    },
    call,
    async tenant(id) {
      const keyName = `${id}-cmk`;
      must(
        await call('POST', '/v1/tenants', { token: adminToken, body: { id, name: `Tenant ${id}` } }),
        201,
        'create tenant',
      );
      must(
        await call('POST', '/v1/dev/local-kms/keys', { token: adminToken, body: { name: keyName } }),
        201,
        'create local key',
      );
      const issue = async (role: string) =>
        must(
          await call('POST', '/v1/tokens', {
            token: adminToken,
            body: { name: `${id} ${role}`, role, tenantId: id },
          }),
          201,
          `issue ${role}`,
        ).body.token as string;
      // The platform admin creates the tenant and its first tenant admin; the tenant admin (never
      // the platform admin) registers the customer key.
      const admin = await issue('tenant-admin');
      must(
        await call('PUT', `/v1/tenants/${id}/cmk`, {
          token: admin,
          body: { provider: 'local', keyRef: `local:${keyName}` },
        }),
        200,
        'register cmk',
      );
      return {
        service: await issue('service'),
        admin,
        auditor: await issue('auditor'),
        keyName,
      };
    },
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await new Promise<void>((resolve) => metricsServer.close(() => resolve()));
      await service.close();
      if (!opts.sharedDb) await db.drop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
