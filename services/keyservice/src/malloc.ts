/**
 * The glibc malloc settings the service runs with in its image (`infra/Dockerfile` sets
 * `GLIBC_TUNABLES` to {@link glibcTunables}(); a test keeps the two equal).
 *
 * Why: every encrypt/decrypt returns a fresh buffer of the record's size. V8 frees those buffers
 * in batches (a scavenge per ~32 MiB of them); with glibc's defaults the freed memory then sits at
 * the top of the heap, is trimmed back to the OS, and the next batch faults every page in again.
 * Measured at 1 MiB, envelope open in a long-running process: 150-200 page faults per open,
 * costing more than the AES-GCM on a VM, against ~0 with these settings (1.1-1.2k against
 * 2.1-3.0k opens/s). Over HTTP the large JSON strings (V8's own mmaps) dominate and the
 * difference was not measurable. Buffers up to 8 MiB (the body limit is 4 MiB by default) come
 * from the heap instead of fresh mmaps, and up to 128 MiB of freed heap is kept before trimming:
 * a bounded amount of memory held for a steady, fault-free hot path.
 *
 * Tunables are read once at process start, so they are set in the environment, never here.
 */
export const MALLOC_TUNABLES: Readonly<Record<string, number>> = {
  'glibc.malloc.mmap_threshold': 8 * 1024 * 1024,
  'glibc.malloc.trim_threshold': 128 * 1024 * 1024,
};

/** `GLIBC_TUNABLES` value carrying {@link MALLOC_TUNABLES}. */
export function glibcTunables(): string {
  return Object.entries(MALLOC_TUNABLES)
    .map(([name, value]) => `${name}=${value}`)
    .join(':');
}

/** `current` (another `GLIBC_TUNABLES` value, possibly empty) with our settings added or replacing its own. */
export function withMallocTunables(current: string | undefined): string {
  const kept = (current ?? '')
    .split(':')
    .filter((entry) => entry !== '' && !Object.hasOwn(MALLOC_TUNABLES, entry.split('=')[0] ?? ''));
  return [...kept, glibcTunables()].join(':');
}

/**
 * - `tuned`: glibc, started with {@link MALLOC_TUNABLES};
 * - `glibc-default`: glibc without them (large records pay page faults, see above);
 * - `not-glibc`: another libc or OS, where the settings do not apply.
 */
export type MallocMode = 'tuned' | 'glibc-default' | 'not-glibc';

/** Which {@link MallocMode} a process started with `GLIBC_TUNABLES` = `tunables` runs in. */
export function mallocMode(tunables: string | undefined, glibc: boolean = runsOnGlibc()): MallocMode {
  if (!glibc) return 'not-glibc';
  const set = new Set((tunables ?? '').split(':'));
  const tuned = Object.entries(MALLOC_TUNABLES).every(([name, value]) => set.has(`${name}=${value}`));
  return tuned ? 'tuned' : 'glibc-default';
}

function runsOnGlibc(): boolean {
  const header = (process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined)
    ?.header;
  return typeof header?.glibcVersionRuntime === 'string';
}
