import { generateKeyPairSync } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { withTransaction } from '@byok/store';
import {
  createCheckpoint,
  createCheckpointSigner,
  exportLines,
  verifyExport,
  type ExportVerification,
} from '../src/index.js';
import { openAuditTestDb, type AuditTestDb } from './audit-db.js';
import { linesOf, seedSyntheticChain } from './synthetic-chain.js';

const ROWS = 100_000;

describe('streamed export of 100,000 events', () => {
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

  it('signs a checkpoint only after verifying the whole chain, then exports and verifies with flat memory', async () => {
    const cp = await createCheckpoint(t.store.pool, 'bulk', signer);
    expect(cp).toMatchObject({ created: true, checkpoint: { seq: ROWS } });

    global.gc?.();
    const baseHeap = process.memoryUsage().heapUsed;
    let peakHeap = baseHeap;
    let bytes = 0;
    const sampler = setInterval(() => {
      peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed);
    }, 20);
    let result: ExportVerification | undefined;
    try {
      result = await withTransaction(t.store.pool, async (c) => {
        await c.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY');
        async function* counted() {
          for await (const chunk of exportLines(c, 'bulk', { format: 'ndjson' })) {
            bytes += chunk.length;
            peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed);
            yield chunk;
          }
        }
        return verifyExport(linesOf(counted()), { publicKey });
      });
    } finally {
      clearInterval(sampler);
    }
    expect(result).toMatchObject({ ok: true, checked: ROWS, lastSeq: ROWS, checkpointSeq: ROWS });
    // The export is ~52 MB of text (~100 MB as JS strings); a buffering implementation would hold it all.
    expect(bytes).toBeGreaterThan(40 * 1024 * 1024);
    const growthMb = (peakHeap - baseHeap) / 1024 / 1024;
    process.stderr.write(
      `export: ${ROWS} events, ${(bytes / 1e6).toFixed(0)} MB, peak heap growth ${growthMb.toFixed(1)} MB\n`,
    );
    expect(growthMb).toBeLessThan(40);
  }, 120_000);
});
