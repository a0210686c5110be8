import { describe, expect, it } from '@jest/globals';
import { TenantScopedCache } from './tenant-scoped-cache.js';

function setup(ttlMs = 1000, maxEntries = 100) {
  let now = 0;
  const cache = new TenantScopedCache<string>({ ttlMs, maxEntries, now: () => now });
  let loads = 0;
  const load = (v: string) => async () => {
    loads += 1;
    return v;
  };
  return {
    cache,
    load,
    loads: () => loads,
    advance: (ms: number) => {
      now += ms;
    },
  };
}

describe('TenantScopedCache', () => {
  it('serves a cached value until its TTL, then reads again', async () => {
    const t = setup(1000);
    expect(await t.cache.get('t1', 'a', t.load('v1'))).toBe('v1');
    t.advance(999);
    expect(await t.cache.get('t1', 'a', t.load('v2'))).toBe('v1');
    t.advance(1);
    expect(await t.cache.get('t1', 'a', t.load('v2'))).toBe('v2');
    expect(t.loads()).toBe(2);
  });

  it('drops one key, a whole tenant (not other tenants), or everything', async () => {
    const t = setup();
    await t.cache.get('t1', 'a', t.load('a1'));
    await t.cache.get('t1', 'b', t.load('b1'));
    await t.cache.get('t2', 'a', t.load('c1'));
    t.cache.invalidate('t1', 'a');
    expect(await t.cache.get('t1', 'a', t.load('a2'))).toBe('a2');
    expect(await t.cache.get('t1', 'b', t.load('x'))).toBe('b1');
    t.cache.invalidate('t1');
    expect(await t.cache.get('t1', 'b', t.load('b2'))).toBe('b2');
    expect(await t.cache.get('t2', 'a', t.load('x'))).toBe('c1');
    t.cache.clear();
    expect(await t.cache.get('t2', 'a', t.load('c2'))).toBe('c2');
  });

  it('a read that raced an invalidation is returned but not kept', async () => {
    const t = setup();
    let release!: () => void;
    const slow = t.cache.get(
      't1',
      'a',
      () => new Promise<string>((resolve) => (release = () => resolve('stale'))),
    );
    t.cache.invalidate('t1', 'a');
    release();
    expect(await slow).toBe('stale');
    expect(await t.cache.get('t1', 'a', t.load('fresh'))).toBe('fresh');
  });

  it('a tenant name that is a prefix of another is not dropped with it', async () => {
    const t = setup();
    await t.cache.get('acme', 'a', t.load('v1'));
    await t.cache.get('acme-eu', 'a', t.load('v2'));
    t.cache.invalidate('acme');
    expect(await t.cache.get('acme-eu', 'a', t.load('x'))).toBe('v2');
  });

  it('holds at most maxEntries, dropping the oldest', async () => {
    const t = setup(1000, 2);
    await t.cache.get('t1', 'a', t.load('a'));
    await t.cache.get('t1', 'b', t.load('b'));
    await t.cache.get('t1', 'c', t.load('c'));
    expect(await t.cache.get('t1', 'a', t.load('a2'))).toBe('a2');
    expect(await t.cache.get('t1', 'c', t.load('x'))).toBe('c');
  });

  it('with a TTL of 0 every read goes to the loader', async () => {
    const t = setup(0);
    await t.cache.get('t1', 'a', t.load('a'));
    await t.cache.get('t1', 'a', t.load('a'));
    expect(t.loads()).toBe(2);
  });
});
