import type { Queryable } from '@byok/store';
import { exportLines, type ExportLinesOptions } from './export-stream.js';

/**
 * Writes the export of one chain from a single snapshot: `tx` must be a fresh transaction, which
 * this makes REPEATABLE READ, READ ONLY before the first read, so events, head and checkpoints
 * agree (see {@link exportLines}). `write` resolves when the receiver can take more.
 */
export async function exportInSnapshot(
  tx: Queryable,
  chain: string,
  opts: ExportLinesOptions,
  write: (chunk: string) => Promise<void> | void,
): Promise<void> {
  await tx.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY');
  for await (const chunk of exportLines(tx, chain, opts)) await write(chunk);
}
