/**
 * Scaling: audited decrypt throughput with 1, 2 and 3 service instances on one database
 * (autocannon's 50 connections split across the instances, rates summed), and the cost of audit
 * chain verification at 10^4, 10^5 and 10^6 events (it should grow linearly).
 * `pnpm bench:scaling [--json] [--quick]`.
 */
import { randomBytes } from 'node:crypto';
import { CreateKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { verifyChain } from '@byok/audit';
import { createPool } from '@byok/store';
import { createTestDatabase, type TestDatabase } from '@byok/store/testing';
import { startAwsKmsEmulator } from '@byok/kms-emulators';
import { machineInfo, type CaseResult } from './lib/harness.js';
import { pairedRatio, summarize } from './lib/stats.js';
import { encryptFor, provisionTenant, awsEmulatorEnv } from './support/api.js';
import { writeChain } from './support/audit-chain.js';
import { benchFlags, fmt, publish, type FiguresReport } from './support/bench-output.js';
import { measureLoad, type LoadCase } from './support/http-load.js';
import { findDatabase } from './support/find-database.js';
import { startService, tempDir, type ChildServer } from './support/processes.js';

const { json, quick } = benchFlags();

const ADMIN = `bench_admin_${randomBytes(16).toString('hex')}`;
const timing = quick
  ? { rounds: 1, roundSeconds: 1, warmupSeconds: 0.5 }
  : { rounds: 3, roundSeconds: 2, warmupSeconds: 1.5 };
/** A verification projected to take longer than this is not run (the whole `pnpm bench` must fit 10 min). */
const MAX_VERIFY_SECONDS = 120;

// Several instances need one database they can all reach: the PostgreSQL of DATABASE_URL, or
// else one embedded PGlite served to all over the wire protocol (one connection per instance).
await findDatabase();
const db: TestDatabase = await createTestDatabase();
const dbDescription =
  db.kind === 'postgres'
    ? `PostgreSQL ${new URL(db.databaseUrl).host} (fresh database)`
    : 'one embedded PGlite shared over its socket server (DATABASE_URL not set; serialises every query)';
process.stderr.write(`[scaling] database: ${dbDescription}\n`);
// PGlite's socket server serves one client at a time: a second instance cannot connect to it.
const INSTANCES = db.kind === 'postgres' ? [1, 2, 3] : [1];
const dir = await tempDir('byok-bench-scaling-');
const emulator = await startAwsKmsEmulator();
const credential = emulator.credentials[0] as { accessKeyId: string; secretAccessKey: string };
const env = {
  DATABASE_URL: db.databaseUrl,
  ...(db.kind === 'pglite' ? { DATABASE_POOL_MAX: '1' } : {}),
  DATA_DIR: dir.path,
  BOOTSTRAP_ADMIN_TOKEN: ADMIN,
  ...awsEmulatorEnv(emulator),
};
const instances: ChildServer[] = [];

/** Decrypt throughput by instance count, interleaved rounds. */
async function instanceCurve(): Promise<CaseResult[]> {
  // The first instance migrates the database; the others start on it afterwards.
  instances.push(await startService(env));
  const url0 = (instances[0] as ChildServer).url;
  const kms = new KMSClient({
    region: emulator.region,
    endpoint: emulator.endpoint,
    credentials: credential,
  });
  const arn = (await kms.send(new CreateKeyCommand({}))).KeyMetadata?.Arn as string;
  kms.destroy();
  const tenant = await provisionTenant(url0, ADMIN, 'scale', { provider: 'aws-kms', keyRef: arn });
  const context = { record: 'r-1' };
  const ciphertext = await encryptFor(url0, tenant, randomBytes(1024), context);
  while (instances.length < Math.max(...INSTANCES)) instances.push(await startService(env));
  const cases: LoadCase[] = INSTANCES.map((n) => ({
    id: `decrypt 1KiB, ${n} instance${n > 1 ? 's' : ''}`,
    group: 'instances',
    labels: { instances: String(n) },
    urls: instances.slice(0, n).map((s) => s.url),
    path: '/v1/tenants/scale/decrypt',
    headers: { authorization: `Bearer ${tenant.serviceToken}` },
    body: JSON.stringify({ ciphertext, context }),
    bytes: 1024,
  }));
  return measureLoad(cases, { ...timing, connections: 50 });
}

interface VerifyResult extends CaseResult {
  events: number;
  /** Seconds per verification (median of rounds). */
  seconds: number;
  microsPerEvent: number;
  writeSeconds: number;
}

/** verifyChain time for growing chains; stops before a size projected past MAX_VERIFY_SECONDS. */
async function verifyCurve(skipped: string[]): Promise<VerifyResult[]> {
  const sizes = quick ? [1e3, 1e4] : [1e4, 1e5, 1e6];
  const store = await createPool({ databaseUrl: db.databaseUrl, max: db.kind === 'pglite' ? 1 : 4 });
  const out: VerifyResult[] = [];
  try {
    for (const n of sizes) {
      const last = out.at(-1);
      if (last) {
        const projected = (last.seconds + last.writeSeconds) * (n / last.events);
        if (projected > MAX_VERIFY_SECONDS) {
          skipped.push(
            `10^${Math.log10(n)} events: projected ${projected.toFixed(0)} s to write and verify (over the ${MAX_VERIFY_SECONDS} s budget)`,
          );
          continue;
        }
      }
      const chain = `bench-verify-${n}`;
      const writeSeconds = await writeChain(store.pool, chain, 'scale', n);
      const rounds = n >= 1e6 ? 1 : 3;
      const times: number[] = [];
      for (let r = 0; r < rounds; r++) {
        const t0 = performance.now();
        const v = await verifyChain(store.pool, chain);
        times.push((performance.now() - t0) / 1000);
        if (!v.ok || v.checked !== n) throw new Error(`chain ${chain} did not verify: ${JSON.stringify(v)}`);
      }
      const rates = times.map((t) => n / t);
      const stats = summarize(rates);
      const seconds = summarize(times).median;
      process.stderr.write(
        `[scaling] verify ${n} events: ${seconds.toFixed(2)} s (write ${writeSeconds.toFixed(1)} s)\n`,
      );
      out.push({
        id: `verifyChain ${n} events`,
        group: 'verify',
        labels: { events: String(n) },
        bytes: undefined,
        rounds: rates,
        ops: n * rounds,
        ...stats,
        mbPerSec: undefined,
        events: n,
        seconds,
        microsPerEvent: (seconds * 1e6) / n,
        writeSeconds,
      });
    }
  } finally {
    await store.close();
  }
  return out;
}

try {
  const started = Date.now();
  const curve = await instanceCurve();
  for (const s of instances) await s.stop();
  instances.length = 0;
  const skipped: string[] = [];
  const verify = await verifyCurve(skipped);
  const one = curve[0] as CaseResult;
  const ratios: Record<string, number> = {};
  for (const c of curve.slice(1))
    ratios[`${c.labels.instances} instances / 1 instance`] = pairedRatio(c.rounds, one.rounds);
  for (let i = 1; i < verify.length; i++) {
    const a = verify[i - 1] as VerifyResult;
    const b = verify[i] as VerifyResult;
    ratios[`verify time ${b.events} / ${a.events} events (linear = ${b.events / a.events})`] =
      b.seconds / a.seconds;
  }
  const figures: FiguresReport['figures'] = { database: db.kind, cpus: machineInfo().cpus };
  for (const c of curve) figures[`decrypt req/s with ${c.labels.instances} instance(s)`] = c.median;
  for (const v of verify) {
    figures[`verify ${v.events} events s`] = v.seconds;
    figures[`verify ${v.events} events us/event`] = v.microsPerEvent;
  }
  if (skipped.length) figures.skipped = skipped.join('; ');
  const report: FiguresReport = {
    name: 'scaling',
    machine: machineInfo(),
    results: [...curve, ...verify],
    ratios,
    figures,
  };
  const m = report.machine;
  const markdown = [
    '## scaling',
    '',
    `${new Date().toISOString()} · ${m.cpus} x ${m.cpuModel} · Node ${m.node} · ${dbDescription} (${((Date.now() - started) / 1000).toFixed(0)} s)`,
    '',
    `Audited decrypt 1 KiB, 50 connections split across the instances (rates summed), ${timing.rounds} x ${timing.roundSeconds} s interleaved rounds. All instances, the load generator and the database share ${m.cpus} cores, so more instances add contention, not capacity, here.`,
    '',
    '| instances | median req/s | min | max | IQR/median | p50 ms | p99 ms (busiest) |',
    '|---|---:|---:|---:|---:|---:|---:|',
    ...curve.map((c) => {
      const l = c as CaseResult & { p50Ms: number; p99Ms: number };
      return `| ${c.labels.instances} | ${fmt(c.median)} | ${fmt(c.min)} | ${fmt(c.max)} | ${fmt(c.iqrRatio * 100, 1)}% | ${fmt(l.p50Ms, 1)} | ${fmt(l.p99Ms, 1)} |`;
    }),
    '',
    'Audit chain verification (`verifyChain`, keyset pages of 1000, SHA-256 over canonical JSON per event):',
    '',
    '| events | write s (bulk INSERT) | verify s (median) | us/event | events/s |',
    '|---:|---:|---:|---:|---:|',
    ...verify.map(
      (v) =>
        `| ${fmt(v.events)} | ${fmt(v.writeSeconds, 1)} | ${fmt(v.seconds, 2)} | ${fmt(v.microsPerEvent, 1)} | ${fmt(v.median)} |`,
    ),
    ...(skipped.length ? ['', `Not run: ${skipped.join('; ')}.`] : []),
    ...(db.kind === 'postgres'
      ? []
      : ['', 'Only 1 instance: several instances need a shared PostgreSQL (set DATABASE_URL).']),
    '',
    '| ratio | value |',
    '|---|---:|',
    ...Object.entries(ratios).map(([k, v]) => `| ${k} | ${fmt(v, 2)} |`),
  ].join('\n');
  publish(report, markdown, json);
} finally {
  for (const s of instances) await s.stop();
  await emulator.close();
  await db.drop();
  await dir.remove();
}
