/**
 * Re-encryption rate of the tenant-key rotation job: 100,000 stored secret versions sealed by the
 * service itself (its /encrypt/batch, with each secret's own context), inserted by SQL, then one
 * rotation; the job's wall time from its start to its finish, as recorded in the jobs table.
 * `pnpm bench:lifecycle-rotation [--records N] [--batch N] [--quick] [--json]` (needs PostgreSQL at DATABASE_URL,
 * default postgres://postgres@127.0.0.1:5432/test). With --json the last line is one JSON object.
 */
import type { AddressInfo } from 'node:net';
import { cpus, loadavg } from 'node:os';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { createTestDatabase } from '@byok/store/testing';
import { loadConfig } from '../services/keyservice/src/config.js';
import { createLogger } from '../services/keyservice/src/logger.js';
import { buildService } from '../services/keyservice/src/service.js';
import { findDatabase } from './support/find-database.js';

const argv = process.argv.slice(2);
const flag = (name: string, dflt: number): number => {
  const i = argv.indexOf(name);
  return i >= 0 ? Number(argv[i + 1]) : dflt;
};
// --quick (from `pnpm bench --quick`) measures 20,000 records instead of 100,000.
const RECORDS = flag('--records', argv.includes('--quick') ? 20_000 : 100_000);
const BATCH = flag('--batch', 500);
const json = argv.includes('--json');
const say = (line: string) => {
  if (!json) process.stdout.write(`${line}\n`);
  else process.stderr.write(`${line}\n`);
};

await findDatabase();
const db = await createTestDatabase({ require: 'postgres' });
const dataDir = await mkdtemp(join(tmpdir(), 'byok-bench-rot-'));
const ADMIN = 'byok_bench_rotation_admin_0123456789abcdef';
const config = loadConfig({
  BYOK_MODE: 'development',
  DATABASE_URL: db.databaseUrl,
  DATA_DIR: dataDir,
  BOOTSTRAP_ADMIN_TOKEN: ADMIN,
  KMS_PROVIDERS: 'local',
  LOG_LEVEL: 'warn',
  ROTATION_BATCH_SIZE: String(BATCH),
  JOB_POLL_MS: '100',
});
const quiet = new Writable({ write: (_c, _e, cb) => cb() });
const service = await buildService(config, { logger: createLogger('warn', quiet) });
const server = service.app.listen(0, '127.0.0.1');
await new Promise<void>((r) => server.once('listening', () => r()));
const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

// eslint-disable-next-line @typescript-eslint/no-explicit-any
async function call(method: string, path: string, token: string, body?: unknown): Promise<any> {
  const res = await fetch(`${url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const parsed: unknown = await res.json().catch(() => undefined);
  if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(parsed)}`);
  return parsed;
}

try {
  await call('POST', '/v1/tenants', ADMIN, { id: 'bench', name: 'Bench' });
  await call('POST', '/v1/dev/local-kms/keys', ADMIN, { name: 'bench-cmk' });
  // The tenant admin, never the platform admin, registers the CMK and rotates.
  const ta = (await call('POST', '/v1/tokens', ADMIN, { name: 'a', role: 'tenant-admin', tenantId: 'bench' }))
    .token as string;
  await call('PUT', '/v1/tenants/bench/cmk', ta, { provider: 'local', keyRef: 'local:bench-cmk' });
  const svc = (await call('POST', '/v1/tokens', ADMIN, { name: 'bench', role: 'service', tenantId: 'bench' }))
    .token as string;

  say(`sealing and inserting ${RECORDS} secret versions...`);
  const pool = service.store.pool;
  const name = (i: number) => `s${String(i).padStart(7, '0')}`;
  const valueOf = (i: number) => `sk-ant-api03-bench-${String(i).padStart(7, '0')}-abcdefghijklmnopqrstuv`;
  for (let start = 0; start < RECORDS; start += 1000) {
    const ids = Array.from({ length: Math.min(1000, RECORDS - start) }, (_, k) => start + k);
    const sealed = await call('POST', '/v1/tenants/bench/encrypt/batch', svc, {
      items: ids.map((i) => ({
        plaintext: Buffer.from(valueOf(i)).toString('base64'),
        context: { secret: name(i), version: '1', kind: 'anthropic' },
      })),
    });
    const cts = (sealed.results as { ok: boolean; ciphertext: string }[]).map((r) =>
      Buffer.from(r.ciphertext, 'base64url'),
    );
    await pool.query(
      `INSERT INTO secrets (tenant_id, name, kind, current_version)
       SELECT 'bench', n, 'anthropic', 1 FROM unnest($1::text[]) AS n`,
      [ids.map(name)],
    );
    await pool.query(
      `INSERT INTO secret_versions (tenant_id, name, version, kind, ciphertext, tk_version, hint, fingerprint)
       SELECT 'bench', n, 1, 'anthropic', c, 1, 'sk-ant-...bench', 'hmac-sha256:bench'
       FROM unnest($1::text[], $2::bytea[]) AS u(n, c)`,
      [ids.map(name), cts],
    );
  }
  await pool.query('VACUUM ANALYZE secret_versions');

  say(`rotating (batch size ${BATCH})...`);
  const cpuBefore = process.cpuUsage();
  const loadBefore = loadavg()[0] ?? 0;
  const rot = await call('POST', '/v1/tenants/bench/tenant-key/rotate', ta);
  let job;
  for (;;) {
    job = await call('GET', `/v1/tenants/bench/jobs/${rot.jobId as string}`, ADMIN);
    if (job.state === 'succeeded' || job.state === 'failed') break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const cpu = process.cpuUsage(cpuBefore);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  const loadAfter = loadavg()[0] ?? 0;
  const { rows } = await pool.query<{ seconds: number; moved: string }>(
    `SELECT extract(epoch FROM finished_at - started_at)::float8 AS seconds,
       (SELECT count(*) FROM secret_versions WHERE tenant_id = 'bench' AND tk_version = 2) AS moved
     FROM jobs WHERE id = $1`,
    [rot.jobId],
  );
  const seconds = rows[0]?.seconds ?? NaN;
  const moved = Number(rows[0]?.moved ?? 0);
  // Spot-check values through the API after the job.
  let checked = 0;
  for (let i = 0; i < RECORDS; i += Math.max(1, Math.floor(RECORDS / 50))) {
    const r = await call('POST', `/v1/tenants/bench/secrets/${name(i)}/reveal`, svc, {});
    if (r.value !== valueOf(i)) throw new Error(`record ${i} revealed a different value`);
    checked++;
  }
  const rate = RECORDS / seconds;
  const result = {
    bench: 'lifecycle-rotation',
    records: RECORDS,
    batchSize: BATCH,
    state: job.state as string,
    done: job.done as number,
    errors: job.errors as number,
    moved,
    seconds: Math.round(seconds * 1000) / 1000,
    recordsPerSec: Math.round(rate),
    jobReportedRate: job.rate as number,
    spotChecked: checked,
    // This process's CPU during the job (PostgreSQL's is not included): a load-independent figure.
    serviceCpuSeconds: Math.round(cpuSeconds * 1000) / 1000,
    recordsPerServiceCpuSec: Math.round(RECORDS / cpuSeconds),
    loadAvg1m: [Math.round(loadBefore * 10) / 10, Math.round(loadAfter * 10) / 10],
    target: 5000,
    meetsTarget: rate >= 5000 && moved === RECORDS,
    cpus: cpus().length,
    node: process.version,
  };
  say(
    `re-encrypted ${moved}/${RECORDS} records in ${result.seconds} s: ${result.recordsPerSec} records/s ` +
      `(job says ${result.jobReportedRate}/s; ${checked} values spot-checked; target >= 5000/s: ${result.meetsTarget ? 'met' : 'MISSED'}); ` +
      `service CPU ${result.serviceCpuSeconds} s = ${result.recordsPerServiceCpuSec} records per CPU-second; load ${result.loadAvg1m.join(' -> ')}`,
  );
  if (json) process.stdout.write(`${JSON.stringify(result)}\n`);
} finally {
  await new Promise<void>((r) => server.close(() => r()));
  await service.close();
  await db.drop();
  await rm(dataDir, { recursive: true, force: true });
}
