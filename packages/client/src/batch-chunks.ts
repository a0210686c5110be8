import { MAX_BATCH_ITEMS } from '@byok/contract';

/** Default cap on one batch request's estimated JSON size: under the service's 4 MiB body limit. */
export const DEFAULT_MAX_BATCH_BYTES = 3 * 1024 * 1024;

/** Per-item overhead in the JSON body (braces, key names, quotes, commas), estimated generously. */
const ITEM_OVERHEAD_BYTES = 64;

/**
 * Splits `items` into consecutive chunks of at most `maxItems` items and at most `maxBytes`
 * estimated bytes each, preserving order, so that concatenating the per-chunk results gives the
 * results of the whole array. An item larger than `maxBytes` on its own gets a chunk of its own
 * (the service then answers for it, e.g. PAYLOAD_TOO_LARGE).
 */
export function chunkItems<T>(
  items: readonly T[],
  sizeOf: (item: T) => number,
  maxItems: number = MAX_BATCH_ITEMS,
  maxBytes: number = DEFAULT_MAX_BATCH_BYTES,
): T[][] {
  const chunks: T[][] = [];
  let current: T[] = [];
  let bytes = 0;
  for (const item of items) {
    const size = sizeOf(item) + ITEM_OVERHEAD_BYTES;
    if (current.length > 0 && (current.length >= maxItems || bytes + size > maxBytes)) {
      chunks.push(current);
      current = [];
      bytes = 0;
    }
    current.push(item);
    bytes += size;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

/** Estimated JSON size of a context object (0 when absent). */
export function contextSize(context: Record<string, string> | undefined): number {
  if (!context) return 0;
  let n = 16;
  for (const [k, v] of Object.entries(context)) n += k.length + v.length + 6;
  return n;
}
