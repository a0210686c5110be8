/**
 * The key service over HTTP (autocannon, 50 connections) beside an express 5 no-op JSON endpoint
 * in the same kind of process: encrypt 1 KiB, audited decrypt 1 KiB, batch decrypt of 100 items,
 * secret reveal; and encrypt / audited decrypt of 1 MiB beside a no-op given the same 1 MiB body.
 * Against a fresh database on PostgreSQL when DATABASE_URL is set, else the embedded default. `pnpm bench:service [--json] [--quick]`.
 */
import { randomBytes } from 'node:crypto';
import { machineInfo } from './lib/harness.js';
import { pairedRatio } from './lib/stats.js';
import { api, provisionTenant } from './support/api.js';
import { benchDatabase, benchFlags, fmt, publish, type FiguresReport } from './support/bench-output.js';
import { measureLoad, type LoadCase, type LoadResult } from './support/http-load.js';
import { startNoopServer, startService } from './support/processes.js';

const ADMIN = `bench_admin_${randomBytes(16).toString('hex')}`;
const BATCH = 100;
/** Issue 3: an audited decrypt should reach at least half the rate of a no-op express endpoint. */
const TARGET_DECRYPT_VS_NOOP = 0.5;

const { json, quick } = benchFlags();
const timing = quick
  ? { rounds: 1, roundSeconds: 1, warmupSeconds: 0.5 }
  : { rounds: 5, roundSeconds: 2, warmupSeconds: 1.5 };

const db = await benchDatabase();
process.stderr.write(`[service] database: ${db.description}\n`);
// ENVELOPE_BACKEND=native measures the opt-in addon (build it first: pnpm --filter @byok/envelope build:native).
const envelopeBackend = process.env.ENVELOPE_BACKEND === 'native' ? 'native' : 'node';
process.stderr.write(`[service] envelope backend: ${envelopeBackend}\n`);
const service = await startService({
  ...db.env,
  BOOTSTRAP_ADMIN_TOKEN: ADMIN,
  KMS_PROVIDERS: 'local',
  ENVELOPE_BACKEND: envelopeBackend,
});
// A second service on its own database (no audit chain shared with the first) with every rate
// limit on (in memory, set high enough never to refuse): what checking the three buckets costs.
const LIMITS_ON = {
  RATE_LIMIT_IP_RPS: '1000000',
  RATE_LIMIT_TOKEN_RPS: '1000000',
  RATE_LIMIT_TENANT_RPS: '1000000',
};
const noop = await startNoopServer();
const limitedDb = await benchDatabase();
let limited: Awaited<ReturnType<typeof startService>> | undefined;
try {
  const url = service.url;
  const tenant = await provisionTenant(
    url,
    ADMIN,
    'bench',
    { provider: 'local', keyRef: 'local:bench-cmk' },
    'bench-cmk',
  );
  const auth = { authorization: `Bearer ${tenant.serviceToken}` };
  const context = { record: 'r-1', table: 'documents' };
  const plaintext = randomBytes(1024).toString('base64');
  const enc = await api<{ results: { ciphertext: string }[] }>(
    url,
    'POST',
    '/v1/tenants/bench/encrypt/batch',
    tenant.serviceToken,
    {
      items: Array.from({ length: BATCH }, () => ({
        plaintext: randomBytes(1024).toString('base64'),
        context,
      })),
    },
  );
  const ciphertexts = enc.results.map((r) => r.ciphertext);
  await api(url, 'PUT', '/v1/tenants/bench/secrets/openai', tenant.serviceToken, {
    kind: 'openai',
    value: `sk-proj-${randomBytes(24).toString('hex')}`,
  });
  const decryptBody = JSON.stringify({ ciphertext: ciphertexts[0], context });
  limited = await startService({
    ...limitedDb.env,
    BOOTSTRAP_ADMIN_TOKEN: ADMIN,
    KMS_PROVIDERS: 'local',
    ENVELOPE_BACKEND: envelopeBackend,
    ...LIMITS_ON,
  });
  const limitedTenant = await provisionTenant(
    limited.url,
    ADMIN,
    'bench',
    { provider: 'local', keyRef: 'local:bench-cmk' },
    'bench-cmk',
  );
  const limitedDecryptBody = JSON.stringify({
    ciphertext: (
      await api<{ ciphertext: string }>(
        limited.url,
        'POST',
        '/v1/tenants/bench/encrypt',
        limitedTenant.serviceToken,
        { plaintext, context },
      )
    ).ciphertext,
    context,
  });
  // Large records: 1 MiB (the largest plaintext the API takes), beside a no-op parsing the same body.
  const bigPlaintext = randomBytes(1024 * 1024).toString('base64');
  const bigCiphertext = (
    await api<{ ciphertext: string }>(url, 'POST', '/v1/tenants/bench/encrypt', tenant.serviceToken, {
      plaintext: bigPlaintext,
      context,
    })
  ).ciphertext;
  const bigDecryptBody = JSON.stringify({ ciphertext: bigCiphertext, context });

  /** A no-op case: the express baseline given `body`, so it parses the same bytes. */
  const noopCase = (id: string, group: string, body: string): LoadCase => ({
    id,
    group,
    labels: { impl: 'noop' },
    urls: [noop.url],
    path: '/noop',
    body,
  });
  /** A key-service case on `path` with the tenant's service token. */
  const serviceCase = (
    id: string,
    group: string,
    op: string,
    path: string,
    body: string,
    extra: Pick<LoadCase, 'bytes' | 'itemsPerRequest'> = {},
  ): LoadCase => ({
    id,
    group,
    labels: { impl: 'service', op },
    urls: [url],
    path: `/v1/tenants/bench/${path}`,
    headers: auth,
    body,
    ...extra,
  });
  const MiB = 1024 * 1024;
  const cases: LoadCase[] = [
    // The same body as the decrypt request, so parsing costs the same.
    noopCase('express no-op', 'http', decryptBody),
    serviceCase('encrypt 1KiB', 'http', 'encrypt', 'encrypt', JSON.stringify({ plaintext, context }), {
      bytes: 1024,
    }),
    serviceCase('decrypt 1KiB (audited)', 'http', 'decrypt', 'decrypt', decryptBody, { bytes: 1024 }),
    {
      ...serviceCase(
        'decrypt 1KiB (audited, rate limits on)',
        'http',
        'decrypt',
        'decrypt',
        limitedDecryptBody,
        { bytes: 1024 },
      ),
      urls: [limited.url],
      headers: { authorization: `Bearer ${limitedTenant.serviceToken}` },
    },
    serviceCase(
      `decrypt batch ${BATCH}x1KiB`,
      'http',
      'decrypt-batch',
      'decrypt/batch',
      JSON.stringify({ items: ciphertexts.map((c) => ({ ciphertext: c, context })) }),
      { itemsPerRequest: BATCH, bytes: BATCH * 1024 },
    ),
    serviceCase(
      'secret reveal (audited)',
      'http',
      'reveal',
      'secrets/openai/reveal',
      JSON.stringify({ purpose: 'llm-inference' }),
    ),
    noopCase('express no-op 1MiB', 'http 1MiB', bigDecryptBody),
    serviceCase(
      'encrypt 1MiB',
      'http 1MiB',
      'encrypt',
      'encrypt',
      JSON.stringify({ plaintext: bigPlaintext, context }),
      { bytes: MiB },
    ),
    serviceCase('decrypt 1MiB (audited)', 'http 1MiB', 'decrypt', 'decrypt', bigDecryptBody, { bytes: MiB }),
  ];
  const started = Date.now();
  // The 1 MiB group runs after the others, not interleaved with them: its garbage (large-object
  // space, external buffers) would otherwise land in the 1 KiB rounds.
  const results: LoadResult[] = [];
  for (const group of new Set(cases.map((c) => c.group))) {
    results.push(
      ...(await measureLoad(
        cases.filter((c) => c.group === group),
        { ...timing, connections: 50 },
      )),
    );
  }
  const byId = (id: string) => results.find((r) => r.id === id) as LoadResult;
  // Each case against the no-op of its own group (same body size, so the same parsing cost).
  const noops = new Map(results.filter((r) => r.labels.impl === 'noop').map((r) => [r.group, r]));
  const ratios: Record<string, number> = {};
  for (const r of results) {
    const noop = noops.get(r.group);
    if (r.labels.impl !== 'noop' && noop) ratios[`${r.id} / ${noop.id}`] = pairedRatio(r.rounds, noop.rounds);
  }
  const decryptRatio = ratios['decrypt 1KiB (audited) / express no-op'] as number;
  // Issue 14: the audited-decrypt / no-op ratio with rate limits on beside off, at most 3% apart.
  const limitsOnRatio = ratios['decrypt 1KiB (audited, rate limits on) / express no-op'] as number;
  const limitsGap = Math.abs(limitsOnRatio - decryptRatio) / decryptRatio;
  const batch = byId(`decrypt batch ${BATCH}x1KiB`);
  const report: FiguresReport = {
    name: 'service',
    machine: machineInfo(),
    results,
    ratios,
    figures: {
      database: db.kind,
      'envelope backend': envelopeBackend,
      connections: 50,
      'no-op req/s': byId('express no-op').median,
      'decrypt req/s': byId('decrypt 1KiB (audited)').median,
      'decrypt p50 ms': byId('decrypt 1KiB (audited)').p50Ms,
      'decrypt p99 ms': byId('decrypt 1KiB (audited)').p99Ms,
      'batch items/s': batch.itemsPerSec ?? Number.NaN,
      'encrypt 1MiB req/s': byId('encrypt 1MiB').median,
      'decrypt 1MiB req/s': byId('decrypt 1MiB (audited)').median,
      'decrypt/no-op': decryptRatio,
      'decrypt/no-op, rate limits on': limitsOnRatio,
      'rate limits on vs off gap': limitsGap,
      'target decrypt/no-op': TARGET_DECRYPT_VS_NOOP,
      'meets target': decryptRatio >= TARGET_DECRYPT_VS_NOOP,
      'errors + non-2xx': results.reduce((a, r) => a + r.errors + r.non2xx, 0),
    },
  };
  const m = report.machine;
  const markdown = [
    '## service',
    '',
    `${new Date().toISOString()} · ${m.cpus} x ${m.cpuModel} · Node ${m.node} · ${db.description} · autocannon, 50 connections, ${timing.rounds} x ${timing.roundSeconds} s interleaved rounds (${((Date.now() - started) / 1000).toFixed(0)} s)`,
    '',
    '| case | median req/s | items/s | min | max | IQR/median | p50 ms | p99 ms | errors | non-2xx |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...results.map(
      (r) =>
        `| ${r.id} | ${fmt(r.median)} | ${fmt(r.itemsPerSec)} | ${fmt(r.min)} | ${fmt(r.max)} | ${fmt(r.iqrRatio * 100, 1)}% | ${fmt(r.p50Ms, 1)} | ${fmt(r.p99Ms, 1)} | ${r.errors} | ${r.non2xx} |`,
    ),
    '',
    '| ratio to the express no-op with the same body (median of per-round ratios) | value |',
    '|---|---:|',
    ...Object.entries(ratios).map(([k, v]) => `| ${k} | ${fmt(v, 2)} |`),
    '',
    `Issue 14: audited decrypt / no-op with rate limits on (in memory) ${fmt(limitsOnRatio, 3)} beside off ${fmt(decryptRatio, 3)}: ${fmt(limitsGap * 100, 1)}% apart (target <= 3%: ${limitsGap <= 0.03 ? 'met' : 'NOT met'}).`,
    '',
    `Target (issue 3): audited decrypt >= ${TARGET_DECRYPT_VS_NOOP}x the no-op rate: ${fmt(decryptRatio, 2)}x, ${decryptRatio >= TARGET_DECRYPT_VS_NOOP ? 'met' : 'NOT met'}.`,
  ].join('\n');
  publish(report, markdown, json);
} catch (err) {
  process.stderr.write(`[service] failed; service output (tail):\n${service.output().slice(-3000)}\n`);
  throw err;
} finally {
  await noop.stop();
  await limited?.stop();
  await service.stop();
  await db.drop();
  await limitedDb.drop();
}
