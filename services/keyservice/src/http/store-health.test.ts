import { describe, expect, it } from '@jest/globals';
import { StoreHealth } from './store-health.js';

describe('StoreHealth (injected clock)', () => {
  it('reports a database failure for windowMs after it, then forgets it', () => {
    let now = 5000;
    const h = new StoreHealth(1000, () => now);
    expect(h.recentlyFailed()).toBe(false);
    h.failed();
    now += 999;
    expect(h.recentlyFailed()).toBe(true);
    now += 1;
    expect(h.recentlyFailed()).toBe(false);
  });
});
