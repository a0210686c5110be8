import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from '@jest/globals';
import { loadConfig } from '../src/config.js';
import { glibcTunables, MALLOC_TUNABLES, mallocMode, withMallocTunables } from '../src/malloc.js';

const DOCKERFILE = resolve(dirname(fileURLToPath(import.meta.url)), '../../../infra/Dockerfile');

describe('malloc tunables', () => {
  it('the image runs with exactly the settings the service documents', () => {
    const set = [...readFileSync(DOCKERFILE, 'utf8').matchAll(/GLIBC_TUNABLES=(\S+)/g)].map((m) => m[1]);
    expect(set).toEqual([glibcTunables()]);
    expect(glibcTunables()).toBe('glibc.malloc.mmap_threshold=8388608:glibc.malloc.trim_threshold=134217728');
  });

  it('keeps buffers up to the largest body in the heap', () => {
    // The default body limit is 4 MiB; its decoded buffers must stay below the mmap threshold.
    expect(MALLOC_TUNABLES['glibc.malloc.mmap_threshold']).toBeGreaterThan(4 * 1024 * 1024);
  });

  it('reports tuned only when every setting is present with our value', () => {
    expect(mallocMode(glibcTunables(), true)).toBe('tuned');
    expect(mallocMode(`glibc.malloc.arena_max=2:${glibcTunables()}`, true)).toBe('tuned');
    expect(mallocMode(undefined, true)).toBe('glibc-default');
    expect(mallocMode('glibc.malloc.mmap_threshold=8388608', true)).toBe('glibc-default');
    expect(mallocMode(glibcTunables().replace('134217728', '1048576'), true)).toBe('glibc-default');
    expect(mallocMode(glibcTunables(), false)).toBe('not-glibc');
    // The service reads it through its config, like every other variable.
    expect(
      mallocMode(
        loadConfig({ BYOK_MODE: 'development', GLIBC_TUNABLES: glibcTunables() }).glibcTunables,
        true,
      ),
    ).toBe('tuned');
    expect(mallocMode(loadConfig({ BYOK_MODE: 'development' }).glibcTunables, true)).toBe('glibc-default');
  });

  it('adds its settings to an existing GLIBC_TUNABLES, replacing only its own names', () => {
    expect(withMallocTunables(undefined)).toBe(glibcTunables());
    expect(withMallocTunables('')).toBe(glibcTunables());
    expect(withMallocTunables('glibc.malloc.arena_max=2:glibc.malloc.trim_threshold=1')).toBe(
      `glibc.malloc.arena_max=2:${glibcTunables()}`,
    );
    expect(mallocMode(withMallocTunables('glibc.malloc.trim_threshold=1'), true)).toBe('tuned');
  });
});
