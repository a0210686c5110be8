/**
 * Audited-event throughput: 50 concurrent record() callers, each waiting for its own commit,
 * with group commit (maxBatch 256) versus one INSERT per commit (maxBatch 1).
 * Run: DATABASE_URL=postgres://postgres@127.0.0.1:5432/test npx tsx packages/audit/test/group-commit.bench.ts
 */
import { createPool, migrate } from '@byok/store';
import { createTestDatabase } from '@byok/store/testing';
import { createAuditWriter, verifyChain } from '../src/index.js';

const CALLERS = 50;
const SECONDS = 5;

async function run(maxBatch: number, databaseUrl: string, chain: string): Promise<number> {
  const store = await createPool({ databaseUrl, max: 4 });
  const writer = createAuditWriter({ pool: store.pool, maxBatch });
  const deadline = Date.now() + SECONDS * 1000;
  let done = 0;
  const caller = async (id: number): Promise<void> => {
    while (Date.now() < deadline) {
      await writer.record({
        tenantId: chain,
        action: 'data.decrypt',
        outcome: 'success',
        requestId: `c${id}`,
      });
      done += 1;
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: CALLERS }, (_, i) => caller(i)));
  const rate = done / ((performance.now() - started) / 1000);
  await writer.close();
  const v = await verifyChain(store.pool, chain);
  await store.close();
  if (!v.ok) throw new Error(`chain ${chain} failed verification: ${v.reason}`);
  return rate;
}

const db = await createTestDatabase({ require: 'postgres' });
try {
  const s = await createPool({ databaseUrl: db.databaseUrl, max: 1 });
  await migrate(s.pool);
  await s.close();
  const single = await run(1, db.databaseUrl, 'bench-single');
  const grouped = await run(256, db.databaseUrl, 'bench-group');
  process.stdout.write(
    `${CALLERS} concurrent callers, ${SECONDS}s each:\n` +
      `  one INSERT per commit: ${single.toFixed(0)} events/s\n` +
      `  group commit:          ${grouped.toFixed(0)} events/s (${(grouped / single).toFixed(1)}x)\n`,
  );
} finally {
  await db.drop();
}
