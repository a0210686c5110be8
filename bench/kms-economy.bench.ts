/**
 * KMS economy: how many KMS Decrypt calls 10,000 decrypts across 100 tenants cost, with the
 * default cache window (cold after a restart, then warm) and in strict mode (cacheTtlSeconds 0),
 * against the AWS KMS emulator with 50 ms injected latency. Tenants' CMKs are AWS keys created
 * through the SDK. `pnpm bench:kms-economy [--json] [--quick]`.
 */
import { randomBytes } from 'node:crypto';
import { CreateKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import type autocannon from 'autocannon';
import { startAwsKmsEmulator } from '@byok/kms-emulators';
import { machineInfo } from './lib/harness.js';
import { api, encryptFor, provisionTenant, type BenchTenant, awsEmulatorEnv } from './support/api.js';
import { benchDatabase, benchFlags, fmt, publish, type FiguresReport } from './support/bench-output.js';
import { runLoad, type LoadResult, type LoadRun } from './support/http-load.js';
import { startService, type ChildServer } from './support/processes.js';

const { json, quick } = benchFlags();
const TENANTS = quick ? 10 : 100;
const DECRYPTS = quick ? 1000 : 10_000;
/**
 * Strict mode makes exactly one KMS call per decrypt by construction, and at 50 ms a call it is the
 * slowest phase (~75 s for 10,000 here): it runs a quarter of the decrypts and reports calls per 10k.
 */
const STRICT_DECRYPTS = DECRYPTS / 4;
const LATENCY_MS = 50;
const CONNECTIONS = 50;
const ADMIN = `bench_admin_${randomBytes(16).toString('hex')}`;

const emulator = await startAwsKmsEmulator();
const credential = emulator.credentials[0] as { accessKeyId: string; secretAccessKey: string };
const kms = new KMSClient({ region: emulator.region, endpoint: emulator.endpoint, credentials: credential });
const db = await benchDatabase();
process.stderr.write(`[kms-economy] database: ${db.description}\n`);
const serviceEnv = {
  ...db.env,
  BOOTSTRAP_ADMIN_TOKEN: ADMIN,
  ...awsEmulatorEnv(emulator),
};
let service: ChildServer = await startService(serviceEnv);

/** A fresh process: an empty tenant-key cache, as after a deploy or a crash. */
async function restart(): Promise<void> {
  await service.stop();
  service = await startService(serviceEnv);
}

interface Phase {
  id: string;
  mode: 'default' | 'strict';
  cache: 'cold' | 'warm';
  run: LoadRun;
  decrypts: number;
  kmsDecrypts: number;
  expected: number;
}

try {
  const tenants: BenchTenant[] = [];
  const ciphertexts: string[] = [];
  const context = { record: 'r-1' };
  for (let i = 0; i < TENANTS; i++) {
    const key = await kms.send(new CreateKeyCommand({ Description: `bench tenant ${i}` }));
    const arn = key.KeyMetadata?.Arn as string;
    const t = await provisionTenant(service.url, ADMIN, `t-${String(i).padStart(3, '0')}`, {
      provider: 'aws-kms',
      keyRef: arn,
    });
    tenants.push(t);
    ciphertexts.push(await encryptFor(service.url, t, randomBytes(1024), context));
  }
  const bodies = ciphertexts.map((c) => JSON.stringify({ ciphertext: c, context }));

  /** 10,000 decrypts, tenant after tenant round-robin, 50 connections; counts the KMS Decrypt calls. */
  async function phase(
    id: string,
    mode: Phase['mode'],
    cache: Phase['cache'],
    decrypts: number,
    expected: number,
  ): Promise<Phase> {
    emulator.admin.reset();
    emulator.admin.setLatency(LATENCY_MS);
    let next = 0;
    const requests: autocannon.Request[] = [
      {
        method: 'POST',
        setupRequest: (req) => {
          const i = next++ % TENANTS;
          const t = tenants[i] as BenchTenant;
          return {
            ...req,
            path: `/v1/tenants/${t.id}/decrypt`,
            headers: { 'content-type': 'application/json', authorization: `Bearer ${t.serviceToken}` },
            body: bodies[i] as string,
          };
        },
      },
    ];
    const run = await runLoad({ urls: [service.url], path: '/', requests }, CONNECTIONS, {
      amount: decrypts,
    });
    const kmsDecrypts = emulator.admin.callCount('Decrypt');
    emulator.admin.setLatency(0);
    process.stderr.write(
      `[kms-economy] ${id}: ${kmsDecrypts} KMS Decrypt calls, ${run.ok} ok, p99 ${run.p99Ms} ms\n`,
    );
    return { id, mode, cache, decrypts, run, kmsDecrypts, expected };
  }

  const started = Date.now();
  const phases: Phase[] = [];
  await restart();
  phases.push(await phase('default window, cold', 'default', 'cold', DECRYPTS, TENANTS));
  phases.push(await phase('default window, warm', 'default', 'warm', DECRYPTS, 0));
  for (const t of tenants)
    await api(service.url, 'PUT', `/v1/tenants/${t.id}/policy`, t.tenantAdminToken, { cacheTtlSeconds: 0 });
  await restart();
  // Strict mode keeps no tenant key, so cold and warm are the same: one phase.
  phases.push(await phase('strict (cacheTtlSeconds 0)', 'strict', 'cold', STRICT_DECRYPTS, STRICT_DECRYPTS));

  const results: (LoadResult & {
    decrypts: number;
    kmsDecryptCalls: number;
    kmsCallsPer10k: number;
    expectedCalls: number;
  })[] = phases.map((p) => ({
    id: p.id,
    group: 'kms-economy',
    labels: { mode: p.mode, cache: p.cache },
    bytes: 1024,
    rounds: [p.run.rate],
    ops: p.run.ok,
    median: p.run.rate,
    min: p.run.rate,
    max: p.run.rate,
    q1: p.run.rate,
    q3: p.run.rate,
    iqrRatio: 0,
    mbPerSec: (p.run.rate * 1024) / 1e6,
    p50Ms: p.run.p50Ms,
    p99Ms: p.run.p99Ms,
    itemsPerSec: undefined,
    errors: p.run.errors,
    non2xx: p.run.non2xx,
    connections: CONNECTIONS,
    decrypts: p.decrypts,
    kmsDecryptCalls: p.kmsDecrypts,
    kmsCallsPer10k: (p.kmsDecrypts * 10_000) / p.decrypts,
    expectedCalls: p.expected,
  }));
  const figures: FiguresReport['figures'] = {
    database: db.kind,
    tenants: TENANTS,
    decrypts: DECRYPTS,
    'kms latency ms': LATENCY_MS,
  };
  for (const r of results) {
    figures[`${r.id}: KMS calls per 10k decrypts`] = r.kmsCallsPer10k;
    figures[`${r.id}: p99 ms`] = r.p99Ms;
    figures[`${r.id}: decrypts/s`] = r.median;
  }
  const strict = results[2] as (typeof results)[number];
  const defaultWarm = results[1] as (typeof results)[number];
  const report: FiguresReport = {
    name: 'kms-economy',
    machine: machineInfo(),
    results,
    ratios: {
      'KMS calls strict / default-cold':
        (results[2]?.kmsDecryptCalls ?? 0) / Math.max(1, results[0]?.kmsDecryptCalls ?? 0),
      'decrypts/s default-warm / strict': defaultWarm.median / strict.median,
    },
    figures,
  };
  const m = report.machine;
  const markdown = [
    '## kms-economy',
    '',
    `${new Date().toISOString()} · ${m.cpus} x ${m.cpuModel} · Node ${m.node} · ${db.description} · AWS KMS emulator, ${LATENCY_MS} ms injected latency · ${DECRYPTS} decrypts (strict: ${STRICT_DECRYPTS}) round-robin over ${TENANTS} tenants, ${CONNECTIONS} connections (${((Date.now() - started) / 1000).toFixed(0)} s)`,
    '',
    '| phase | decrypts | KMS Decrypt calls | per 10k decrypts | expected | decrypts/s | p50 ms | p99 ms | errors | non-2xx |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...results.map(
      (r) =>
        `| ${r.id} | ${r.decrypts} | ${r.kmsDecryptCalls} | ${fmt(r.kmsCallsPer10k)} | ${r.expectedCalls} | ${fmt(r.median)} | ${fmt(r.p50Ms, 1)} | ${fmt(r.p99Ms, 1)} | ${r.errors} | ${r.non2xx} |`,
    ),
    '',
    'Expected: one unwrap per tenant on a cold cache (single-flight), none while warm, one per decrypt in strict mode.',
  ].join('\n');
  publish(report, markdown, json);
} catch (err) {
  process.stderr.write(`[kms-economy] failed; service output (tail):\n${service.output().slice(-3000)}\n`);
  throw err;
} finally {
  await service.stop();
  kms.destroy();
  await emulator.close();
  await db.drop();
}
