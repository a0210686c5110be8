import { execFile } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createCheckpoint, createCheckpointSigner } from '../src/index.js';
import { openAuditTestDb, type AuditTestDb } from './audit-db.js';
import { seedSyntheticChain } from './synthetic-chain.js';

const ROWS = 150_000;
/** Heap cap of the exporting process: well below the export's size, so buffering it would crash. */
const HEAP_MB = 64;
const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, '../../..');

describe('streamed export of 150,000 events', () => {
  let t: AuditTestDb;
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const signer = createCheckpointSigner(privateKey);
  beforeAll(async () => {
    t = await openAuditTestDb(4);
    await seedSyntheticChain(t.store.pool, 'bulk', ROWS);
  }, 120_000);
  afterAll(async () => {
    await t?.close();
  });

  it('signs a checkpoint only after verifying the whole chain, then exports and verifies under a heap cap smaller than the export', async () => {
    const cp = await createCheckpoint(t.store.pool, 'bulk', signer);
    expect(cp).toMatchObject({ created: true, checkpoint: { seq: ROWS } });

    // Memory is judged by a hard limit, not by sampling a garbage-collected heap (which depends on
    // load): the export and its verification run in a process capped at HEAP_MB.
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [`--max-old-space-size=${HEAP_MB}`, '--import', 'tsx', join(HERE, 'fixtures/export-under-heap-cap.ts')],
      {
        cwd: ROOT,
        env: {
          PATH: process.env.PATH ?? '',
          DATABASE_URL: t.db.databaseUrl,
          CHAIN: 'bulk',
          PUBLIC_KEY_PEM: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
        },
        maxBuffer: 1024 * 1024,
      },
    );
    const result = JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as {
      ok: boolean;
      checked: number;
      checkpointSeq: number;
      bytes: number;
    };
    expect(result).toMatchObject({ ok: true, checked: ROWS, checkpointSeq: ROWS });
    // The text alone exceeds the cap: a buffering implementation would have run out of heap.
    expect(result.bytes).toBeGreaterThan(HEAP_MB * 1024 * 1024);
    process.stderr.write(
      `export: ${ROWS} events, ${(result.bytes / 1e6).toFixed(0)} MB streamed under a ${HEAP_MB} MB heap cap\n`,
    );
  }, 180_000);
});
