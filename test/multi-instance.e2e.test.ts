import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { DisableKeyCommand, EnableKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { startCluster, type Cluster } from './support/cluster.js';
import {
  awsKmsServiceEnv,
  startAwsKmsEmulatorProcess,
  type AwsKmsEmulatorProcess,
} from './support/emulators.js';
import { api, type ServiceProcess } from './support/service-process.js';
import { watchUntil } from './support/watch.js';

const PROBE_SECONDS = 1;
const WINDOW_SECONDS = 60;
const KMS_TIMEOUT_MS = 4000;
/**
 * Stated margin over each documented bound: the request already past its key lookup (D in the
 * README's R = min(W, P + T) + D), the 25 ms polling, and three services plus the emulator sharing
 * a loaded 2-core machine with this test.
 */
const MARGIN_MS = 2000;
/** ARCHITECTURE.md G2 and the README: a kill switch or a revoked token bites everywhere within 2 s. */
const EVERYWHERE_MS = 2000;

async function until<T>(
  what: string,
  deadlineMs: number,
  fn: () => Promise<T | undefined>,
): Promise<{ value: T; ms: number }> {
  const start = Date.now();
  for (;;) {
    const value = await fn();
    if (value !== undefined) return { value, ms: Date.now() - start };
    if (Date.now() - start > deadlineMs) throw new Error(`${what}: not within ${deadlineMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

// Issue 5 acceptance: revocation bound and kill switch across 3 instances, cold-cache stampede, KMS outage.
describe('three instances on one PostgreSQL and one AWS KMS emulator', () => {
  let emu: AwsKmsEmulatorProcess;
  let cluster: Cluster;
  let kms: KMSClient;
  let keyArn: string;
  let svc: string;
  let tenantAdmin: string;
  let ciphertext: string;
  const plaintext = Buffer.from('tenant record: invoices 2026').toString('base64');

  beforeAll(async () => {
    // In its own process: this one fires 1,000 requests at once, and an emulator on its event loop
    // would answer an unwrap only when those let it (seen: past the 4 s KMS deadline on a loaded
    // 2-core machine).
    emu = await startAwsKmsEmulatorProcess();
    const cred = emu.credentials[0];
    if (!cred) throw new Error('emulator has no credentials');
    kms = new KMSClient({ region: emu.region, endpoint: emu.endpoint, credentials: cred });
    keyArn = emu.keyArn;
    cluster = await startCluster(3, {
      ...awsKmsServiceEnv(emu),
      HEALTH_PROBE_INTERVAL_SECONDS: String(PROBE_SECONDS),
      // Under the 5 s default, to keep the revocation bound P + T short; still ample for an unwrap
      // while each instance's own event loop carries a third of the 1,000-request stampede.
      KMS_TIMEOUT_MS: String(KMS_TIMEOUT_MS),
      // This process opens 1,000 requests at once: on a loaded machine some sockets wait over the
      // default 10 s slowloris guard for their headers (seen: 408), and a keep-alive socket idle for
      // the default 5 s may be closed by the server just as this busy process reuses it (seen:
      // "other side closed"). Neither is what this file tests.
      HTTP_HEADERS_TIMEOUT_MS: '60000',
      HTTP_KEEP_ALIVE_TIMEOUT_MS: '60000',
      KMS_MAX_ATTEMPTS: '1',
      BREAKER_OPEN_MS: String(PROBE_SECONDS * 1000),
      // Long on purpose: a revoked token must stop working everywhere long before this.
      TOKEN_CACHE_SECONDS: '30',
    });
    const [u] = cluster.instances.map((i) => i.url);
    const admin = cluster.adminToken;
    expect((await api(u!, 'POST', '/v1/tenants', admin, { id: 'globex', name: 'Globex' })).status).toBe(201);
    // The platform admin creates the tenant and its first tenant admin, who registers the CMK.
    tenantAdmin = (
      await api(u!, 'POST', '/v1/tokens', admin, { name: 'ta', role: 'tenant-admin', tenantId: 'globex' })
    ).body.token;
    const cmk = await api(u!, 'PUT', '/v1/tenants/globex/cmk', tenantAdmin, {
      provider: 'aws-kms',
      keyRef: keyArn,
    });
    expect(cmk.status).toBe(200);
    svc = (await api(u!, 'POST', '/v1/tokens', admin, { name: 'svc', role: 'service', tenantId: 'globex' }))
      .body.token;
    ciphertext = (await api(u!, 'POST', '/v1/tenants/globex/encrypt', svc, { plaintext })).body.ciphertext;
  }, 120_000);

  afterAll(async () => {
    await cluster?.stop();
    kms?.destroy();
    await emu?.stop();
  });

  /** KMS unwrap attempts this instance made, from its own metrics listener. */
  const unwrapAttempts = async (instance: ServiceProcess): Promise<number> => {
    const text = await (await fetch(`${instance.metricsUrl}/metrics`)).text();
    return text
      .split('\n')
      .filter((l) => l.startsWith('byok_kms_calls_total{') && l.includes('operation="unwrap"'))
      .reduce((n, l) => n + Number(l.split(' ').pop()), 0);
  };

  const decryptOn = (url: string) => api(url, 'POST', '/v1/tenants/globex/decrypt', svc, { ciphertext });

  /** Cache purges of `reason` this instance applied (byok_tenant_purges_total). */
  const purges = async (instance: ServiceProcess, reason: string): Promise<number> => {
    const text = await (await fetch(`${instance.metricsUrl}/metrics`)).text();
    const line = text.split('\n').find((l) => l.startsWith(`byok_tenant_purges_total{reason="${reason}"}`));
    return line ? Number(line.split(' ').pop()) : 0;
  };

  /** Changes the tenant's cache window and waits until every instance applied the purge it sends. */
  const setWindowEverywhere = async (cacheTtlSeconds: number) => {
    const before = await Promise.all(cluster.instances.map((i) => purges(i, 'policy')));
    const r = await api(cluster.instances[0]!.url, 'PUT', '/v1/tenants/globex/policy', tenantAdmin, {
      cacheTtlSeconds,
    });
    expect(r.status).toBe(200);
    await Promise.all(
      cluster.instances.map((i, k) =>
        until(`policy purge on instance ${k + 1}`, 10_000, async () =>
          (await purges(i, 'policy')) > before[k]! ? true : undefined,
        ),
      ),
    );
  };

  it('a cold-cache stampede of 1,000 decrypts costs exactly one KMS unwrap per instance', async () => {
    // A policy change purges every instance's cache (LISTEN/NOTIFY); wait until each one did.
    await setWindowEverywhere(WINDOW_SECONDS);
    const before = await emu.admin.callCount('Decrypt');
    const results = await Promise.all(
      Array.from({ length: 1000 }, (_, i) => decryptOn(cluster.instances[i % 3]!.url)),
    );
    expect(results.filter((r) => r.status !== 200).map((r) => r.text)).toEqual([]);
    expect(results.every((r) => r.body.plaintext === plaintext)).toBe(true);
    expect((await emu.admin.callCount('Decrypt')) - before).toBe(3);
    // Three writers appended to one audit chain at once (each optimistically, falling back to the
    // locking path on conflict): the chain must have no fork and no gap.
    const verify = await api(
      cluster.instances[2]!.url,
      'GET',
      '/v1/audit/verify?tenantId=globex',
      cluster.adminToken,
    );
    expect(verify.body).toMatchObject({ ok: true });
    expect(verify.body.checked).toBeGreaterThan(1000);
  }, 120_000);

  it('disabling the customer key makes every instance refuse within R = min(W, P + T) + D, and re-enabling restores all', async () => {
    for (const i of cluster.instances) expect((await decryptOn(i.url)).status).toBe(200);
    // README: R = min(W, P + T) + D; here W = 60 s, P = 1 s, T = 4 s, so the probe bounds it (5 s).
    const R_MS = Math.min(WINDOW_SECONDS * 1000, PROBE_SECONDS * 1000 + KMS_TIMEOUT_MS);
    const since = Date.now();
    await kms.send(new DisableKeyCommand({ KeyId: keyArn }));
    // All three watched at once, from the DisableKey call, and each watched 500 ms past its refusal.
    const watches = await Promise.all(
      cluster.instances.map((i, k) =>
        watchUntil(
          `KEY_REVOKED on instance ${k + 1}`,
          () => decryptOn(i.url),
          (r) => r.status !== 200,
          {
            since,
            deadlineMs: R_MS + MARGIN_MS,
            holdMs: 500,
          },
        ),
      ),
    );
    for (const w of watches) {
      expect(w.first.body.code).toBe('KEY_REVOKED');
      expect(w.atMs).toBeLessThanOrEqual(R_MS + MARGIN_MS);
      // The last plaintext served on each instance was asked for before the bound...
      expect(w.lastUnchangedSentMs ?? 0).toBeLessThanOrEqual(R_MS + MARGIN_MS);
      // ...and none after its refusal point.
      expect(w.unchangedAfter).toEqual([]);
    }
    process.stderr.write(
      `[revocation] KEY_REVOKED on the 3 instances ${watches.map((w) => w.atMs).join(', ')} ms after DisableKey (bound ${R_MS} + ${MARGIN_MS} ms)\n`,
    );

    await kms.send(new EnableKeyCommand({ KeyId: keyArn }));
    for (const i of cluster.instances) {
      const { value } = await until('decrypt after restore', 10_000, async () => {
        const r = await decryptOn(i.url);
        return r.status === 200 ? r : undefined;
      });
      expect(value.body.plaintext).toBe(plaintext);
    }
  }, 180_000);

  it('the kill switch on instance 1 stops all 3 instances within 2 s; no decrypt succeeds after the refusal point', async () => {
    for (const i of cluster.instances) expect((await decryptOn(i.url)).status).toBe(200);
    const [one, two] = cluster.instances;
    const since = Date.now();
    const locking = api(one!.url, 'POST', '/v1/tenants/globex/revoke', cluster.adminToken);
    // Watched on all 3 at once from the revoke call, each 500 ms past its refusal.
    const watches = await Promise.all(
      cluster.instances.map((i, k) =>
        watchUntil(
          `TENANT_LOCKED on instance ${k + 1}`,
          () => decryptOn(i.url),
          (r) => r.status !== 200,
          {
            since,
            deadlineMs: EVERYWHERE_MS + MARGIN_MS,
            holdMs: 500,
          },
        ),
      ),
    );
    expect((await locking).body).toEqual({ id: 'globex', state: 'locked' });
    for (const w of watches) {
      expect(w.first.body.code).toBe('TENANT_LOCKED');
      // The documented bound itself (README: TENANT_CACHE_MS = 1 s, so 1 s of margin inside it).
      expect(w.atMs).toBeLessThanOrEqual(EVERYWHERE_MS);
      expect(w.lastUnchangedSentMs ?? 0).toBeLessThanOrEqual(EVERYWHERE_MS);
      expect(w.unchangedAfter).toEqual([]);
    }
    process.stderr.write(
      `[kill switch] TENANT_LOCKED on the 3 instances ${watches.map((w) => w.atMs).join(', ')} ms after the revoke call\n`,
    );
    // Past the refusal point nothing succeeds anywhere.
    const after = await Promise.all(
      cluster.instances.flatMap((i) => Array.from({ length: 20 }, () => decryptOn(i.url))),
    );
    expect(after.filter((r) => r.status === 200)).toHaveLength(0);
    expect(new Set(after.map((r) => r.body.code))).toEqual(new Set(['TENANT_LOCKED']));

    expect((await api(two!.url, 'POST', '/v1/tenants/globex/restore', tenantAdmin)).body.state).toBe(
      'active',
    );
    for (const i of cluster.instances) {
      const { value } = await until('decrypt after restore', 3000, async () => {
        const r = await decryptOn(i.url);
        return r.status === 200 ? r : undefined;
      });
      expect(value.body.plaintext).toBe(plaintext);
    }
  }, 60_000);

  it('a token revoked on instance 1 stops working on instances 2 and 3 within 2 s, despite their 30 s token cache', async () => {
    const [one, two, three] = cluster.instances;
    const issued = await api(one!.url, 'POST', '/v1/tokens', cluster.adminToken, {
      name: 'short-lived',
      role: 'service',
      tenantId: 'globex',
    });
    const token = issued.body.token as string;
    const decryptWith = (url: string) =>
      api(url, 'POST', '/v1/tenants/globex/decrypt', token, { ciphertext });
    for (const i of [two!, three!]) expect((await decryptWith(i.url)).status).toBe(200);
    const since = Date.now();
    const revoking = api(
      one!.url,
      'DELETE',
      `/v1/tenants/globex/tokens/${issued.body.id as string}`,
      cluster.adminToken,
    );
    const watches = await Promise.all(
      [two!, three!].map((i, k) =>
        watchUntil(
          `UNAUTHENTICATED on instance ${k + 2}`,
          () => decryptWith(i.url),
          (r) => r.status !== 200,
          {
            since,
            deadlineMs: EVERYWHERE_MS + MARGIN_MS,
            holdMs: 300,
          },
        ),
      ),
    );
    expect((await revoking).status).toBe(204);
    for (const w of watches) {
      expect(w.first.body.code).toBe('UNAUTHENTICATED');
      expect(w.atMs).toBeLessThanOrEqual(EVERYWHERE_MS);
      expect(w.unchangedAfter).toEqual([]);
    }
  }, 30_000);

  it('a platform-admin token revoked on instance 1 gets 401 on all 3 instances within 2 s, despite their 30 s token cache', async () => {
    const [one] = cluster.instances;
    const second = await api(one!.url, 'POST', '/v1/tokens', cluster.adminToken, {
      name: 'second platform admin',
      role: 'platform-admin',
    });
    expect(second.status).toBe(201);
    const token = second.body.token as string;
    // Each instance verifies the token once and caches it for TOKEN_CACHE_SECONDS (30 s).
    for (const i of cluster.instances)
      expect((await api(i.url, 'GET', '/v1/tokens', token)).status).toBe(200);
    const revokedAt = Date.now();
    expect(
      (await api(one!.url, 'DELETE', `/v1/tokens/${second.body.id as string}`, cluster.adminToken)).status,
    ).toBe(204);
    const ms = await Promise.all(
      cluster.instances.map(async (i) => {
        const { value } = await until('401', 2000, async () => {
          const r = await api(i.url, 'GET', '/v1/tokens', token);
          return r.status === 200 ? undefined : r;
        });
        expect(value.status).toBe(401);
        expect(value.body.code).toBe('UNAUTHENTICATED');
        return Date.now() - revokedAt;
      }),
    );
    // Stated margin: 2 s; a later request on any instance is refused too.
    expect(Math.max(...ms)).toBeLessThan(2000);
    for (const i of cluster.instances)
      expect((await api(i.url, 'GET', '/v1/tokens', token)).status).toBe(401);
    process.stderr.write(`[platform-admin revocation] 401 on all 3 instances after ${ms.join(', ')} ms\n`);
  }, 30_000);

  it('a 30 s KMS outage: cached keys keep serving until their expiry, then KMS_UNAVAILABLE; the breaker recovers after the KMS returns', async () => {
    const window = 3;
    await setWindowEverywhere(window);
    // Each instance unwraps now (cold cache); its entry expires `window` s after that unwrap, so
    // no later than `window` s after this 200 arrived.
    const expiresBy: number[] = [];
    for (const i of cluster.instances) {
      expect((await decryptOn(i.url)).status).toBe(200);
      expiresBy.push(Date.now() + window * 1000);
    }
    const OUTAGE_MS = 30_000;
    await emu.admin.setHang(true);
    const outageStart = Date.now();
    try {
      // Within the window: served from cache, although the KMS answers nothing.
      for (const i of cluster.instances) expect((await decryptOn(i.url)).status).toBe(200);
      // After it: refused as unavailable (never as revoked, never served past expiry); then keep
      // failing long enough to open each instance's circuit.
      await Promise.all(
        cluster.instances.map(async (i, k) => {
          const w = await watchUntil(
            `KMS_UNAVAILABLE on instance ${k + 1}`,
            () => decryptOn(i.url),
            (r) => r.status !== 200,
            { since: outageStart, deadlineMs: (window + 10) * 1000 },
          );
          expect(w.first.body.code).toBe('KMS_UNAVAILABLE');
          // Never served past expiry: the last 200 was asked for before this instance's entry expired.
          expect(outageStart + (w.lastUnchangedSentMs ?? 0)).toBeLessThanOrEqual(expiresBy[k]!);
          for (let k = 0; k < 3; k++) expect((await decryptOn(i.url)).body.code).toBe('KMS_UNAVAILABLE');
          // The circuit is open now: the next refusal comes without a KMS call.
          const calls = await unwrapAttempts(i);
          expect((await decryptOn(i.url)).body.code).toBe('KMS_UNAVAILABLE');
          expect(await unwrapAttempts(i)).toBe(calls);
        }),
      );
      // Every request during the rest of the 30 s outage is refused as unavailable, never served.
      while (Date.now() - outageStart < OUTAGE_MS) {
        for (const i of cluster.instances) expect((await decryptOn(i.url)).body.code).toBe('KMS_UNAVAILABLE');
        await new Promise((r) => setTimeout(r, 500));
      }
    } finally {
      await emu.admin.setHang(false);
    }
    const back = Date.now();
    for (const i of cluster.instances) {
      const { value } = await until('recovery', PROBE_SECONDS * 1000 + 5000, async () => {
        const r = await decryptOn(i.url);
        return r.status === 200 ? r : undefined;
      });
      expect(value.body.plaintext).toBe(plaintext);
    }
    process.stderr.write(
      `[outage] all 3 instances served again ${Date.now() - back} ms after the KMS returned (breaker half-open every ${PROBE_SECONDS} s)\n`,
    );
  }, 120_000);
});
