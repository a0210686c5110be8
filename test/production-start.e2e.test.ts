import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createTestDatabase, type TestDatabase } from '@byok/store/testing';
import { api, ROOT, startServiceProcess, tempDir, type ServiceProcess } from './support/service-process.js';

const TSX = join(ROOT, 'node_modules/.bin/tsx');
const MAIN = join(ROOT, 'services/keyservice/src/main.ts');

/** Runs the service with exactly `env` (plus PATH and HOME) until it exits; never waits for a listener. */
function runToExit(env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(TSX, [MAIN], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the service did not exit within 30 s:\n${output}`));
    }, 30_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

describe('production by default (started process)', () => {
  it('with no environment at all, exits non-zero naming every missing production setting', async () => {
    const { code, output } = await runToExit({});
    expect(code).not.toBe(0);
    expect(output).toContain('invalid configuration');
    for (const name of ['DATABASE_URL', 'TLS_CERT_FILE', 'AUDIT_SIGNING_KEY_FILE', 'SINK_SECRET_KEY_FILE'])
      expect(output).toMatch(new RegExp(`^  - ${name}: required in production`, 'm'));
    expect(output).toContain('TLS_TERMINATED_BY_PROXY=true');
    expect(output).not.toContain('listening on');
  });

  it('does not take development mode from NODE_ENV=development, and says what does', async () => {
    const { code, output } = await runToExit({ NODE_ENV: 'development' });
    expect(code).not.toBe(0);
    expect(output).toContain(
      'NODE_ENV=development no longer selects development (set BYOK_MODE=development)',
    );
  });

  it('refuses the local KMS, crash points and an emulator switch in production, all in one refusal', async () => {
    const { code, output } = await runToExit({
      KMS_PROVIDERS: 'local',
      FAILPOINTS: 'rotation:before-batch-commit',
      AZURE_DISABLE_CHALLENGE_RESOURCE_VERIFICATION: 'true',
    });
    expect(code).not.toBe(0);
    expect(output).toMatch(/^ {2}- KMS_PROVIDERS: .*\(local\) cannot be enabled in production$/m);
    expect(output).toMatch(/^ {2}- FAILPOINTS: /m);
    expect(output).toMatch(/^ {2}- AZURE_DISABLE_CHALLENGE_RESOURCE_VERIFICATION: .*refused in production$/m);
    expect(output).toMatch(/^ {2}- DATABASE_URL: /m);
  });

  describe('with BYOK_MODE=development', () => {
    let dir: { path: string; remove: () => Promise<void> };
    let svc: ServiceProcess;
    beforeAll(async () => {
      dir = await tempDir('byok-e2e-dev-');
      // As README command 1 (`pnpm start`): no database URL, no KMS settings, no TLS.
      svc = await startServiceProcess({ BYOK_MODE: 'development', DATA_DIR: dir.path });
    });
    afterAll(async () => {
      await svc?.stop();
      await dir?.remove();
    });

    it('starts as before: embedded database, local KMS, plain HTTP, and prints mode and listeners', async () => {
      expect(svc.output()).toMatch(
        /BYOK key service \(development mode, pid \d+\) listening on http:\/\/127\.0\.0\.1:\d+ \(plain HTTP; database: pglite/,
      );
      expect(svc.output()).toMatch(/metrics on http:\/\/127\.0\.0\.1:\d+\/metrics/);
      expect((await api(svc.url, 'GET', '/readyz')).status).toBe(200);
      const doc = (await api(svc.url, 'GET', '/openapi.json')).body as { paths: Record<string, unknown> };
      expect(Object.keys(doc.paths)).toContain('/v1/dev/local-kms/keys');
    });

    it('serves /metrics on the metrics port only', async () => {
      expect((await fetch(`${svc.url}/metrics`)).status).toBe(404);
      const scraped = await fetch(`${svc.metricsUrl}/metrics`);
      expect(scraped.status).toBe(200);
      expect(await scraped.text()).toContain('byok_http_request_duration_seconds');
    });
  });

  describe('in production with every required setting (TLS terminated by a proxy)', () => {
    let db: TestDatabase;
    let dir: { path: string; remove: () => Promise<void> };
    let svc: ServiceProcess;
    beforeAll(async () => {
      db = await createTestDatabase({ require: 'postgres' });
      dir = await tempDir('byok-e2e-prod-');
      const signing = join(dir.path, 'audit-signing.pem');
      const sink = join(dir.path, 'sink-secret.key');
      const { privateKey } = generateKeyPairSync('ed25519');
      await writeFile(signing, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
      await writeFile(sink, randomBytes(32).toString('base64'), { mode: 0o600 });
      svc = await startServiceProcess({
        BYOK_MODE: 'production',
        DATABASE_URL: db.databaseUrl,
        DATA_DIR: dir.path,
        TLS_TERMINATED_BY_PROXY: 'true',
        AUDIT_SIGNING_KEY_FILE: signing,
        SINK_SECRET_KEY_FILE: sink,
        KMS_PROVIDERS: 'aws-kms',
        AWS_REGION: 'us-east-1',
        AWS_EC2_METADATA_DISABLED: 'true',
      });
    });
    afterAll(async () => {
      await svc?.stop();
      await db?.drop();
      await dir?.remove();
    });

    it('starts, says so, and serves no development route', async () => {
      expect(svc.output()).toMatch(
        /BYOK key service \(production mode, pid \d+\) listening on http:\/\/127\.0\.0\.1:\d+ \(plain HTTP behind a TLS-terminating proxy; database: postgres\)/,
      );
      expect((await api(svc.url, 'GET', '/readyz')).status).toBe(200);
      const doc = (await api(svc.url, 'GET', '/openapi.json')).body as { paths: Record<string, unknown> };
      expect(Object.keys(doc.paths).filter((p) => p.startsWith('/v1/dev/'))).toEqual([]);
      expect((await fetch(`${svc.url}/metrics`)).status).toBe(404);
      expect((await fetch(`${svc.metricsUrl}/metrics`)).status).toBe(200);
    });
  });
});
