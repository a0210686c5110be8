/**
 * Envelope throughput: raw node:crypto AES-256-GCM (the limit), our seal/open, and the AWS
 * Encryption SDK (committing suite without signing, raw AES keyring; with and without its caching
 * materials manager), 64 B to 1 MiB, encrypt and decrypt, in one process, under the service image's
 * malloc settings. `pnpm bench:envelope [--json] [--malloc=default]`.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import {
  AlgorithmSuiteIdentifier,
  buildClient,
  CommitmentPolicy,
  getLocalCryptographicMaterialsCache,
  NodeCachingMaterialsManager,
  RawAesKeyringNode,
  RawAesWrappingSuiteIdentifier,
} from '@aws-crypto/client-node';
import { envelopeBackend, generateTenantKey, open, seal } from '@byok/envelope';
import { loadNativeBackend } from '../packages/envelope/src/backend.js';
import { envelopeWith } from '../packages/envelope/src/envelope.js';
import type { BenchCase, CaseResult } from './lib/harness.js';
import { useServiceMalloc } from './lib/malloc.js';
import { runBench } from './lib/report.js';
import { pairedRatio } from './lib/stats.js';

// Same allocator settings as the service image: at 1 MiB, glibc's defaults make every
// implementation page-fault its output buffers in again (see services/keyservice/src/malloc.ts).
const malloc = useServiceMalloc();

const PAYLOADS = [
  ['64B', 64],
  ['1KiB', 1024],
  ['64KiB', 64 * 1024],
  ['1MiB', 1024 * 1024],
] as const;
const OPS = ['encrypt', 'decrypt'] as const;
// `ours` runs on the default backend (node:crypto); `ours-native` on the opt-in addon, measured
// only when it is built (`pnpm --filter @byok/envelope build:native`).
const native = loadNativeBackend();
const viaNative = 'backend' in native ? envelopeWith(native.backend) : undefined;
const IMPLS = [
  'raw',
  'ours',
  ...(viaNative ? (['ours-native'] as const) : []),
  'esdk',
  'esdk-cached',
] as const;
type Impl = 'raw' | 'ours' | 'ours-native' | 'esdk' | 'esdk-cached';
const rawKey = randomBytes(32);
const tenantKey = generateTenantKey();
const sealParams = { tenantId: 'tenant-bench', tkVersion: 1, context: { record: 'r-1', purpose: 'bench' } };
const openParams = { tenantId: sealParams.tenantId, context: sealParams.context };
const encryptionContext = { tenant: 'tenant-bench', record: 'r-1', purpose: 'bench' };

const { encrypt: esdkEncrypt, decrypt: esdkDecrypt } = buildClient(
  CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT,
);
const suiteId = AlgorithmSuiteIdentifier.ALG_AES256_GCM_IV12_TAG16_HKDF_SHA512_COMMIT_KEY;
const keyring = new RawAesKeyringNode({
  keyName: 'bench-key',
  keyNamespace: 'bench',
  unencryptedMasterKey: randomBytes(32),
  wrappingSuite: RawAesWrappingSuiteIdentifier.AES256_GCM_IV12_TAG16_NO_PADDING,
});
const cachingCmm = new NodeCachingMaterialsManager({
  backingMaterials: keyring,
  cache: getLocalCryptographicMaterialsCache(1000),
  maxAge: 60_000,
});

function rawEncrypt(pt: Buffer) {
  const cipher = createCipheriv('aes-256-gcm', rawKey, randomBytes(12), { authTagLength: 16 });
  const ct = cipher.update(pt);
  cipher.final();
  return { ct, tag: cipher.getAuthTag() };
}

function rawDecrypt(iv: Buffer, ct: Buffer, tag: Buffer) {
  const decipher = createDecipheriv('aes-256-gcm', rawKey, iv, { authTagLength: 16 });
  decipher.setAuthTag(tag);
  const pt = decipher.update(ct);
  decipher.final();
  return pt;
}

async function buildCases(): Promise<BenchCase[]> {
  const cases: BenchCase[] = [];
  for (const [payload, bytes] of PAYLOADS) {
    const pt = randomBytes(bytes);
    const iv = randomBytes(12);
    const raw = createCipheriv('aes-256-gcm', rawKey, iv, { authTagLength: 16 });
    const rawCt = raw.update(pt);
    raw.final();
    const rawTag = raw.getAuthTag();
    const ours = seal(tenantKey, pt, sealParams);
    const esdk = (await esdkEncrypt(keyring, pt, { encryptionContext, suiteId })).result;
    const esdkCached = (await esdkEncrypt(cachingCmm, pt, { encryptionContext, suiteId })).result;
    // ESDK ops at 64 KiB / 1 MiB take milliseconds: longer rounds give each several ops. At 1 MiB
    // every op allocates 1 MiB, and GC / malloc-trim pauses land in whichever round they fall in:
    // longer rounds average them out for every implementation alike.
    const esdkRoundMs = bytes >= 64 * 1024 ? 300 : undefined;
    const largeRoundMs = bytes >= 1024 * 1024 ? 500 : undefined;
    const fns: Partial<Record<Impl, Record<(typeof OPS)[number], () => unknown>>> = {
      raw: { encrypt: () => rawEncrypt(pt), decrypt: () => rawDecrypt(iv, rawCt, rawTag) },
      ours: {
        encrypt: () => seal(tenantKey, pt, sealParams),
        decrypt: () => open(tenantKey, ours, openParams),
      },
      ...(viaNative
        ? {
            'ours-native': {
              encrypt: () => viaNative.seal(tenantKey, pt, sealParams),
              decrypt: () => viaNative.open(tenantKey, ours, openParams),
            },
          }
        : {}),
      esdk: {
        encrypt: () => esdkEncrypt(keyring, pt, { encryptionContext, suiteId }),
        decrypt: () => esdkDecrypt(keyring, esdk),
      },
      'esdk-cached': {
        encrypt: () => esdkEncrypt(cachingCmm, pt, { encryptionContext, suiteId }),
        decrypt: () => esdkDecrypt(cachingCmm, esdkCached),
      },
    };
    for (const op of OPS) {
      for (const impl of IMPLS) {
        const fn = fns[impl]?.[op];
        if (!fn) continue;
        const esdkImpl = impl.startsWith('esdk');
        cases.push({
          id: `${impl} ${op} ${payload}`,
          // ESDK cases get their own groups, run after raw and ours, so that its garbage (and GC)
          // does not land in the rounds of the cases we compare most closely.
          group: `${esdkImpl ? 'esdk ' : ''}${op} ${payload}`,
          labels: { impl, op, payload },
          bytes,
          roundMs: esdkImpl ? esdkRoundMs : largeRoundMs,
          fn,
        });
      }
    }
  }
  return [...cases.filter((c) => !c.id.startsWith('esdk')), ...cases.filter((c) => c.id.startsWith('esdk'))];
}

function ratios(byId: (id: string) => CaseResult): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [payload] of PAYLOADS) {
    for (const op of OPS) {
      const ours = byId(`ours ${op} ${payload}`);
      const raw = byId(`raw ${op} ${payload}`).rounds;
      out[`ours/raw ${op} ${payload}`] = pairedRatio(ours.rounds, raw);
      if (viaNative) {
        out[`ours-native/raw ${op} ${payload}`] = pairedRatio(
          byId(`ours-native ${op} ${payload}`).rounds,
          raw,
        );
      }
      for (const other of ['esdk', 'esdk-cached']) {
        out[`ours/${other} ${op} ${payload}`] = ours.median / byId(`${other} ${op} ${payload}`).median;
      }
    }
  }
  return out;
}

await runBench({
  name: 'envelope',
  setup: {
    envelopeBackend: envelopeBackend(),
    nativeBackend: 'openssl' in native ? { openssl: native.openssl } : { unavailable: native.reason },
    malloc,
  },
  cases: await buildCases(),
  ratios,
  rounds: 11,
  roundMs: 150,
  warmupMs: 200,
});
