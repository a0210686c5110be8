/**
 * Test-only crash points. A named failpoint that is enabled kills this process with SIGKILL, the
 * way a power cut or an OOM kill would, so tests can prove each multi-step operation is crash-safe.
 * Enabled only through the FAILPOINTS setting, which config.ts refuses in production.
 */
const enabled = new Set<string>();

/** Enables exactly these failpoints (an empty list disables all). */
export function configureFailpoints(names: readonly string[]): void {
  enabled.clear();
  for (const n of names) if (n) enabled.add(n);
}

/**
 * Kills the process at once if failpoint `name` is enabled, after one line on stderr (synchronous
 * on pipes and files) so a test can tell this crash from any other.
 */
export function failpoint(name: string): void {
  if (!enabled.has(name)) return;
  process.stderr.write(`failpoint ${name}: SIGKILL\n`);
  process.kill(process.pid, 'SIGKILL');
}
