/**
 * Revocation propagation across 3 instances on one PostgreSQL: (a) the customer disables its AWS
 * key (DisableKey through the SDK), detected by a KMS error or the key-health probe on one instance
 * and purged everywhere over LISTEN/NOTIFY; (b) the tenant admin's kill switch on instance 1.
 * For each trial: time from the revoking call until ALL instances refuse. Median and max over 20
 * trials. `pnpm bench:lifecycle-revocation [--json] [--quick]`. Needs a real PostgreSQL
 * (DATABASE_URL, or one on 127.0.0.1:5432).
 */
import { randomBytes } from 'node:crypto';
import { DisableKeyCommand, EnableKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { startAwsKmsEmulator } from '@byok/kms-emulators';
import { machineInfo } from './lib/harness.js';
import { summarize } from './lib/stats.js';
import { api, encryptFor, provisionTenant, awsEmulatorEnv } from './support/api.js';
import { benchDatabase, benchFlags, fmt, publish, type FiguresReport } from './support/bench-output.js';
import { findDatabase } from './support/find-database.js';
import { startService, type ChildServer } from './support/processes.js';

const { json, quick } = benchFlags();
const TRIALS = quick ? 5 : 20;
const PROBE_SECONDS = 5;
const INSTANCES = 3;
const ADMIN = `bench_admin_${randomBytes(16).toString('hex')}`;

await findDatabase();
const emulator = await startAwsKmsEmulator();
const credential = emulator.credentials[0] as { accessKeyId: string; secretAccessKey: string };
const kms = new KMSClient({ region: emulator.region, endpoint: emulator.endpoint, credentials: credential });
const db = await benchDatabase();
const env = {
  ...db.env,
  BOOTSTRAP_ADMIN_TOKEN: ADMIN,
  ...awsEmulatorEnv(emulator),
  HEALTH_PROBE_INTERVAL_SECONDS: String(PROBE_SECONDS),
};
const instances: ChildServer[] = [await startService({ ...env, INSTANCE_ID: 'ks-1' })];
for (let i = 2; i <= INSTANCES; i++) instances.push(await startService({ ...env, INSTANCE_ID: `ks-${i}` }));

const key = emulator.admin.createKey();
const tenant = await provisionTenant(instances[0]!.url, ADMIN, 'propagation', {
  provider: 'aws-kms',
  keyRef: key.arn,
});
const ciphertext = await encryptFor(instances[0]!.url, tenant, Buffer.from('payload'), {});

async function decryptStatus(url: string): Promise<{ status: number; code?: string }> {
  const res = await fetch(`${url}/v1/tenants/${tenant.id}/decrypt`, {
    method: 'POST',
    headers: { authorization: `Bearer ${tenant.serviceToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ ciphertext }),
  });
  const body = (await res.json()) as { code?: string };
  return { status: res.status, ...(body.code ? { code: body.code } : {}) };
}

/** Polls every instance until it answers `code`; returns ms from `t0` until the last one did. */
async function allRefuse(t0: number, code: string, limitMs: number): Promise<number> {
  const times = await Promise.all(
    instances.map(async (i) => {
      for (;;) {
        const r = await decryptStatus(i.url);
        if (r.code === code) return performance.now() - t0;
        if (performance.now() - t0 > limitMs)
          throw new Error(`${i.url} still served ${limitMs} ms after revocation`);
      }
    }),
  );
  return Math.max(...times);
}

async function allServe(): Promise<void> {
  for (const i of instances) {
    for (let n = 0; ; n++) {
      if ((await decryptStatus(i.url)).status === 200) break;
      if (n > 400) throw new Error('instance did not recover');
      await new Promise((r) => setTimeout(r, 25));
    }
  }
}

const kmsTrials: number[] = [];
const killTrials: number[] = [];
for (let t = 0; t < TRIALS; t++) {
  await allServe();
  const t0 = performance.now();
  await kms.send(new DisableKeyCommand({ KeyId: key.arn }));
  kmsTrials.push(await allRefuse(t0, 'KEY_REVOKED', (60 + PROBE_SECONDS) * 1000 + 5000));
  await kms.send(new EnableKeyCommand({ KeyId: key.arn }));

  await allServe();
  const t1 = performance.now();
  await api(instances[0]!.url, 'POST', `/v1/tenants/${tenant.id}/revoke`, ADMIN);
  killTrials.push(await allRefuse(t1, 'TENANT_LOCKED', 10_000));
  await api(instances[1]!.url, 'POST', `/v1/tenants/${tenant.id}/restore`, tenant.tenantAdminToken);
}

for (const i of instances) await i.stop();
kms.destroy();
await emulator.close();
await db.drop();

const kmsStats = summarize(kmsTrials);
const killStats = summarize(killTrials);
const max = (a: number[]) => Math.max(...a);
const report: FiguresReport = {
  name: 'lifecycle-revocation',
  machine: machineInfo(),
  results: [
    {
      id: 'kms-detected',
      trials: kmsTrials.length,
      medianMs: kmsStats.median,
      maxMs: max(kmsTrials),
      samplesMs: kmsTrials.map(Math.round),
    },
    {
      id: 'kill-switch',
      trials: killTrials.length,
      medianMs: killStats.median,
      maxMs: max(killTrials),
      samplesMs: killTrials.map(Math.round),
    },
  ] as unknown as FiguresReport['results'],
  ratios: { killSwitchMaxOverTarget: max(killTrials) / 2000 },
  figures: {
    instances: INSTANCES,
    trials: TRIALS,
    probeIntervalSeconds: PROBE_SECONDS,
    cacheWindowSeconds: 60,
    kmsDetectedMedianMs: Math.round(kmsStats.median),
    kmsDetectedMaxMs: Math.round(max(kmsTrials)),
    kmsDetectedBoundMs: (60 + PROBE_SECONDS) * 1000,
    killSwitchMedianMs: Math.round(killStats.median),
    killSwitchMaxMs: Math.round(max(killTrials)),
    killSwitchTargetMs: 2000,
    killSwitchTargetMet: max(killTrials) < 2000,
  },
};
const md = [
  `## lifecycle-revocation (${INSTANCES} instances, ${TRIALS} trials, probe every ${PROBE_SECONDS} s, cache window 60 s)`,
  '',
  '| revocation | median ms | max ms | bound / target |',
  '|---|---:|---:|---|',
  `| customer disables the AWS key (probe / KMS error + NOTIFY) | ${fmt(kmsStats.median)} | ${fmt(max(kmsTrials))} | R + probe = ${(60 + PROBE_SECONDS) * 1000} ms |`,
  `| kill switch on instance 1 | ${fmt(killStats.median)} | ${fmt(max(killTrials))} | < 2000 ms |`,
  '',
].join('\n');
publish(report, md, json);
process.exit(0);
