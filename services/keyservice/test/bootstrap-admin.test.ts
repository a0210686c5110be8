import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { sql } from './acceptance-helpers.js';
import { startTestService, type TestService } from './harness.js';
import { bootstrapAdmin } from '../src/domain/tokens/bootstrap-admin.js';
import { createLogger } from '../src/logger.js';
import { AuditRecorder } from '../src/domain/audit/audit-recorder.js';
import { TokenService } from '../src/domain/tokens/token-service.js';

describe('bootstrap admin token (issue 13)', () => {
  let s: TestService;
  const logs: string[] = [];
  const logger = createLogger(
    'debug',
    new Writable({
      write(chunk: Buffer, _e, cb) {
        logs.push(chunk.toString('utf8'));
        cb();
      },
    }),
  );

  beforeAll(async () => {
    s = await startTestService();
  });
  afterAll(async () => {
    await s?.close();
  });

  const noAdmins = () => sql(s, `UPDATE api_tokens SET revoked_at = now() WHERE role = 'platform-admin'`);
  const deps = (config: Parameters<typeof bootstrapAdmin>[0]['config']) => ({
    config,
    db: s.service.store.pool,
    tokens: new TokenService(s.service.store.pool, 0),
    audit: new AuditRecorder({ record: async () => undefined }, s.service.metrics),
    logger,
  });

  it('in production takes the SHA-256 from BOOTSTRAP_ADMIN_TOKEN_FILE and prints nothing', async () => {
    await noAdmins();
    const token = `byok_operator_chosen_${'x'.repeat(24)}`;
    const file = join(s.dataDir, 'bootstrap-hash');
    await writeFile(file, `${createHash('sha256').update(token).digest('hex')}\n`);
    const printed = await bootstrapAdmin(
      deps({ production: true, bootstrapAdminToken: undefined, bootstrapAdminTokenFile: file }),
    );
    expect(printed).toBeUndefined();
    expect((await s.call('GET', '/v1/tokens', { token })).status).toBe(200);
    expect(logs.join('')).not.toContain(token);
  });

  it('in production without a file creates and prints no token', async () => {
    await noAdmins();
    const printed = await bootstrapAdmin(
      deps({ production: true, bootstrapAdminToken: undefined, bootstrapAdminTokenFile: undefined }),
    );
    expect(printed).toBeUndefined();
    const live = await sql(
      s,
      `SELECT id FROM api_tokens WHERE role = 'platform-admin' AND revoked_at IS NULL`,
    );
    expect(live).toHaveLength(0);
    expect(logs.join('')).toContain('BOOTSTRAP_ADMIN_TOKEN_FILE');
  });

  it('in development generates one token to print once', async () => {
    await noAdmins();
    const printed = await bootstrapAdmin(
      deps({ production: false, bootstrapAdminToken: undefined, bootstrapAdminTokenFile: undefined }),
    );
    expect(printed).toMatch(/^byok_/);
    expect((await s.call('GET', '/v1/tokens', { token: printed! })).status).toBe(200);
    expect(
      await bootstrapAdmin(
        deps({ production: false, bootstrapAdminToken: undefined, bootstrapAdminTokenFile: undefined }),
      ),
    ).toBeUndefined();
  });
});
