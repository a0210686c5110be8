import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { chunkItems } from './batch-chunks.js';

describe('chunkItems', () => {
  it('splits 2,500 items into 1000 + 1000 + 500, in order', () => {
    const items = Array.from({ length: 2500 }, (_, i) => i);
    const chunks = chunkItems(items, () => 1);
    expect(chunks.map((c) => c.length)).toEqual([1000, 1000, 500]);
    expect(chunks.flat()).toEqual(items);
  });

  it('returns no chunks for no items', () => {
    expect(chunkItems([], () => 1)).toEqual([]);
  });

  it('gives an item larger than the byte cap a chunk of its own', () => {
    const chunks = chunkItems([10, 5000, 10], (n) => n, 1000, 1000);
    expect(chunks).toEqual([[10], [5000], [10]]);
  });

  it('keeps order and respects both caps for any input', () => {
    fc.assert(
      fc.property(
        fc.array(fc.nat(5000), { maxLength: 300 }),
        fc.integer({ min: 1, max: 50 }),
        fc.integer({ min: 100, max: 20_000 }),
        (sizes, maxItems, maxBytes) => {
          const chunks = chunkItems(sizes, (n) => n, maxItems, maxBytes);
          expect(chunks.flat()).toEqual(sizes);
          for (const c of chunks) {
            expect(c.length).toBeGreaterThan(0);
            expect(c.length).toBeLessThanOrEqual(maxItems);
            const bytes = c.reduce((a, n) => a + n + 64, 0);
            if (c.length > 1) expect(bytes).toBeLessThanOrEqual(maxBytes);
          }
        },
      ),
    );
  });
});
