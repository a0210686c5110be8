import { spawnSync } from 'node:child_process';
import { mallocMode, withMallocTunables, type MallocMode } from '../../services/keyservice/src/malloc.js';

const REEXEC = 'BYOK_BENCH_MALLOC_REEXEC';

/**
 * Runs this benchmark under the glibc malloc settings the service image ships
 * (services/keyservice/src/malloc.ts): when they are missing, re-runs this same process with them
 * added to GLIBC_TUNABLES (they only take effect at process start) and exits with its status.
 * `--malloc=default` measures glibc's defaults instead. Returns the mode in effect, for the report.
 */
export function useServiceMalloc(): MallocMode {
  const mode = mallocMode(process.env.GLIBC_TUNABLES);
  if (mode !== 'glibc-default' || process.argv.includes('--malloc=default')) return mode;
  // Re-run at most once, whatever the child decides.
  if (process.env[REEXEC] === '1') return mode;
  const child = spawnSync(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
    stdio: 'inherit',
    env: { ...process.env, [REEXEC]: '1', GLIBC_TUNABLES: withMallocTunables(process.env.GLIBC_TUNABLES) },
  });
  process.exit(child.status ?? 1);
}
