import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { STATUS_BY_CODE, type ErrorCode } from '@byok/contract';
import { createTestDatabase, type TestDatabase } from '@byok/store/testing';
import { startCloudEmulators, type CloudEmulators } from './support/emulators.js';
import { startFaultProxy, type FaultMode, type FaultProxy } from './support/fault-proxy.js';
import { api, startServiceProcess, tempDir, type ServiceProcess } from './support/service-process.js';
import { call, percentile } from './support/traffic.js';

const ADMIN = 'byok_kms_faults_admin_token_0123456789abcdef';
/** The stated margin: a bystander tenant's p99 under another tenant's KMS fault stays within this factor. */
const P99_FACTOR = 1.5;
// Stated margin on top of the 1.5x: timer and GC jitter of a shared 2-core machine, where a
// bystander p99 of ~65 ms moved to ~100 ms in one of five runs with no isolation fault. A real
// isolation failure costs the bystanders a KMS deadline (seconds) or a 503, far past this.
const P99_MARGIN_MS = 25;
const BREAKER_THRESHOLD = 3;
const BREAKER_OPEN_MS = 1000;
// Generous: the emulators answer from this test process, which also drives the load.
const KMS_TIMEOUT_MS = 4000;
const KMS_MAX_ATTEMPTS = 2;
/** Bystander decrypts per round; two rounds per condition, interleaved (baseline, fault, baseline, fault). */
const PER_ROUND = 60;

const VICTIM_PACE_MS = 100;

interface Tenant {
  id: string;
  svc: string;
  ciphertext: string;
  plaintext: string;
}

/** The figures of one fault kind, for the report table. */
interface KmsFaultFigures {
  fault: string;
  bystanderP99BaselineMs: number;
  bystanderP99FaultMs: number;
  ratio: number;
  bystanderSamples: number;
  bystanderFailures: number;
  victimRequests: number;
  victimRefused: number;
  victimServed: number;
  victimKmsAttempts: number;
  recoveryMs: number;
}

// Issue 16.5: per-tenant isolation under KMS faults at the HTTP level. The victim tenant's CMK lives
// in AWS KMS reached through a fault proxy; the bystanders' CMKs in Google Cloud KMS, reached
// directly. Every tenant is in strict mode (a KMS unwrap per decrypt), so every request of every
// tenant goes to its KMS.
describe("one tenant's KMS hangs, throttles, answers 5xx or resets: other tenants are not slowed; the breaker opens, probes and closes", () => {
  let db: TestDatabase;
  let dir: { path: string; remove: () => Promise<void> };
  let clouds: CloudEmulators;
  let proxy: FaultProxy;
  let svc: ServiceProcess;
  let victim: Tenant;
  const bystanders: Tenant[] = [];
  const figures: KmsFaultFigures[] = [];

  async function tenant(id: string, provider: string, keyRef: string): Promise<Tenant> {
    const u = svc.url;
    expect((await api(u, 'POST', '/v1/tenants', ADMIN, { id, name: id })).status).toBe(201);
    const issue = async (role: string) =>
      (await api(u, 'POST', '/v1/tokens', ADMIN, { name: `${id} ${role}`, role, tenantId: id })).body
        .token as string;
    const ta = await issue('tenant-admin');
    const token = await issue('service');
    expect((await api(u, 'PUT', `/v1/tenants/${id}/cmk`, ta, { provider, keyRef })).status).toBe(200);
    expect((await api(u, 'PUT', `/v1/tenants/${id}/policy`, ta, { cacheTtlSeconds: 0 })).status).toBe(200);
    const plaintext = Buffer.from(`record of ${id}`).toString('base64');
    const enc = await api(u, 'POST', `/v1/tenants/${id}/encrypt`, token, { plaintext, context: {} });
    expect(enc.status).toBe(200);
    return { id, svc: token, ciphertext: enc.body.ciphertext, plaintext };
  }

  const decrypt = (t: Tenant) =>
    call(svc.url, 'POST', `/v1/tenants/${t.id}/decrypt`, t.svc, { ciphertext: t.ciphertext, context: {} });

  /** aws-kms unwrap attempts the service made (every one of them the victim's). */
  const victimAttempts = async (): Promise<number> => {
    const text = await (await fetch(`${svc.metricsUrl}/metrics`)).text();
    return text
      .split('\n')
      .filter(
        (l) =>
          l.startsWith('byok_kms_calls_total{') &&
          l.includes('provider="aws-kms"') &&
          l.includes('operation="unwrap"'),
      )
      .reduce((n, l) => n + Number(l.split(' ').pop()), 0);
  };

  beforeAll(async () => {
    db = await createTestDatabase();
    dir = await tempDir('byok-kms-faults-');
    clouds = await startCloudEmulators(dir.path);
    const aws = new URL(clouds.aws.endpoint);
    proxy = await startFaultProxy({ target: { host: aws.hostname, port: Number(aws.port) } });
    svc = await startServiceProcess({
      ...clouds.serviceEnv,
      AWS_ENDPOINT_URL_KMS: `http://${proxy.host}:${proxy.port}`,
      DATABASE_URL: db.databaseUrl,
      DATA_DIR: dir.path,
      BOOTSTRAP_ADMIN_TOKEN: ADMIN,
      KMS_TIMEOUT_MS: String(KMS_TIMEOUT_MS),
      KMS_MAX_ATTEMPTS: String(KMS_MAX_ATTEMPTS),
      BREAKER_FAILURE_THRESHOLD: String(BREAKER_THRESHOLD),
      BREAKER_OPEN_MS: String(BREAKER_OPEN_MS),
      // The probe would add KMS calls of its own; the breaker is what is measured here.
      HEALTH_PROBE_INTERVAL_SECONDS: '0',
      ...(db.kind === 'pglite' ? { DATABASE_POOL_MAX: '1' } : {}),
    });
    const aws0 = clouds.customers.find((c) => c.provider === 'aws-kms')!;
    const gcp = clouds.customers.find((c) => c.provider === 'gcp-kms')!;
    victim = await tenant('victim', 'aws-kms', await aws0.createKey('victim'));
    for (const id of ['bystander-1', 'bystander-2'])
      bystanders.push(await tenant(id, 'gcp-kms', await gcp.createKey(id)));
  }, 120_000);

  afterAll(async () => {
    await svc?.stop();
    await proxy?.close();
    await clouds?.close();
    await db?.drop();
    await dir?.remove();
    if (figures.length) process.stderr.write(`[kms-faults] ${JSON.stringify(figures, null, 1)}\n`);
  }, 60_000);

  /**
   * One round: 3 workers per bystander decrypt until each bystander has `PER_ROUND` answers, while
   * 4 workers keep sending the victim's decrypts. Returns the bystanders' latencies and failures
   * and the victim's statuses. A fault round also lasts until the victim has `minVictim` answers:
   * on a fast machine the bystanders' samples are done before a hanging KMS has answered (or the
   * breaker opened) even once, and the round would then say nothing about the victim.
   */
  async function round(
    phase: string,
    minVictim = 0,
  ): Promise<{
    latencies: number[];
    failures: string[];
    victim: { status: number; code?: string }[];
  }> {
    const latencies: number[] = [];
    const failures: string[] = [];
    const victimOut: { status: number; code?: string }[] = [];
    let done = false;
    const giveUpAt = Date.now() + 60_000;
    const more = () =>
      (latencies.length < PER_ROUND * bystanders.length || victimOut.length < minVictim) &&
      Date.now() < giveUpAt;
    const bystanderWorkers = bystanders.flatMap((b) =>
      Array.from({ length: 3 }, async () => {
        while (more()) {
          const t0 = performance.now();
          const r = await decrypt(b);
          latencies.push(performance.now() - t0);
          if (r.status !== 200 || r.body.plaintext !== b.plaintext)
            failures.push(`${phase}: ${b.id} ${r.status} ${r.body?.code} ${r.body?.detail}`);
        }
      }),
    );
    const victimWorkers = Array.from({ length: 4 }, async () => {
      while (!done) {
        const t0 = Date.now();
        const r = await decrypt(victim);
        victimOut.push({ status: r.status, code: r.body?.code });
        if (r.status === 200 && r.body.plaintext !== victim.plaintext)
          failures.push('victim served a wrong plaintext');
        // Paced (at most 10 per second per worker): refused requests are much cheaper than served
        // ones, and an unpaced victim would load the process more during the fault than in the
        // baseline, which measures CPU sharing rather than KMS isolation.
        const rest = VICTIM_PACE_MS - (Date.now() - t0);
        if (rest > 0) await new Promise((r) => setTimeout(r, rest));
      }
    });
    await Promise.all(bystanderWorkers);
    done = true;
    await Promise.all(victimWorkers);
    return { latencies, failures, victim: victimOut };
  }

  /** Turns the fault on. */
  type Injector = { on: () => Promise<void>; off: () => Promise<void> };
  const viaProxy = (mode: FaultMode): Injector => ({
    on: () => proxy.set(mode),
    off: () => proxy.set({ kind: 'pass' }),
  });

  const cases: [string, () => Injector, string[]][] = [
    ['hang (blackhole)', () => viaProxy({ kind: 'blackhole' }), ['KMS_UNAVAILABLE']],
    [
      'throttle (ThrottlingException on every call)',
      () => ({
        on: async () => clouds.aws.admin.setThrottleRate(1),
        off: async () => clouds.aws.admin.setThrottleRate(0),
      }),
      ['KMS_THROTTLED', 'KMS_UNAVAILABLE'],
    ],
    [
      '5xx (500 KMSInternalException)',
      () =>
        viaProxy({
          kind: 'respond',
          status: 500,
          body: JSON.stringify({ __type: 'KMSInternalException', message: 'injected' }),
          headers: { 'content-type': 'application/x-amz-json-1.1' },
        }),
      ['KMS_UNAVAILABLE'],
    ],
    ['connection reset', () => viaProxy({ kind: 'reset' }), ['KMS_UNAVAILABLE']],
  ];

  it.each(cases)(
    '%s',
    async (label, makeInjector, victimCodes) => {
      const fault = makeInjector();
      const baseline: number[] = [];
      const faulted: number[] = [];
      const failures: string[] = [];
      const victimDuring: { status: number; code?: string }[] = [];
      let attempts = 0;
      let faultMs = 0;
      try {
        for (let k = 0; k < 2; k++) {
          const b = await round('baseline');
          baseline.push(...b.latencies);
          failures.push(...b.failures);
          const before = await victimAttempts();
          const t0 = Date.now();
          await fault.on();
          try {
            const f = await round('fault', 15);
            faulted.push(...f.latencies);
            failures.push(...f.failures);
            victimDuring.push(...f.victim);
          } finally {
            await fault.off();
            faultMs += Date.now() - t0;
          }
          attempts += (await victimAttempts()) - before;
          // Let the victim's circuit close before the next baseline round.
          for (let i = 0; i < 100 && (await decrypt(victim)).status !== 200; i++)
            await new Promise((r) => setTimeout(r, 100));
        }
      } finally {
        await fault.off();
      }

      // Bystanders: every request served, with the right plaintext, and not slowed beyond the margin.
      expect(failures).toEqual([]);
      const p99Base = percentile(baseline, 99);
      const p99Fault = percentile(faulted, 99);
      // The victim: refused with its typed code, never served, never a 500.
      const served = victimDuring.filter((v) => v.status === 200).length;
      const refused = victimDuring.filter((v) => v.status !== 200);
      const untyped = refused.filter(
        (v) => !victimCodes.includes(v.code ?? '') || v.status !== STATUS_BY_CODE[v.code as ErrorCode],
      );
      expect(untyped).toEqual([]);
      expect(refused.length).toBeGreaterThan(20);
      // The breaker opened: far fewer KMS attempts than victim requests. Without it every request
      // would cost KMS_MAX_ATTEMPTS attempts; with it, per fault window about threshold x attempts
      // plus one trial per BREAKER_OPEN_MS (stated slack: + 4 per window).
      const windows = 2;
      const trials = Math.ceil(faultMs / BREAKER_OPEN_MS) + windows;
      expect(attempts).toBeLessThanOrEqual(
        windows * BREAKER_THRESHOLD * KMS_MAX_ATTEMPTS + trials * KMS_MAX_ATTEMPTS + 4 * windows,
      );
      expect(victimDuring.length).toBeGreaterThan(3 * attempts);

      // The breaker closes by itself: after the fault the victim is served again within one open
      // period plus one KMS deadline (stated margin: + 2 s for a loaded machine).
      await fault.on();
      for (let i = 0; i < 10; i++) await decrypt(victim);
      await fault.off();
      const healed = Date.now();
      let recoveryMs = Number.POSITIVE_INFINITY;
      for (;;) {
        const r = await decrypt(victim);
        if (r.status === 200) {
          expect(r.body.plaintext).toBe(victim.plaintext);
          recoveryMs = Date.now() - healed;
          break;
        }
        if (Date.now() - healed > 10_000) break;
        await new Promise((res) => setTimeout(res, 25));
      }
      expect(recoveryMs).toBeLessThan(BREAKER_OPEN_MS + KMS_TIMEOUT_MS + 2000);

      figures.push({
        fault: label,
        bystanderP99BaselineMs: Math.round(p99Base),
        bystanderP99FaultMs: Math.round(p99Fault),
        ratio: Number((p99Fault / p99Base).toFixed(2)),
        bystanderSamples: faulted.length,
        bystanderFailures: failures.length,
        victimRequests: victimDuring.length,
        victimRefused: refused.length,
        victimServed: served,
        victimKmsAttempts: attempts,
        recoveryMs,
      });
      expect(p99Fault).toBeLessThanOrEqual(P99_FACTOR * p99Base + P99_MARGIN_MS);
    },
    120_000,
  );
});
