import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root. */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const TSX = join(ROOT, 'node_modules/.bin/tsx');
const SERVICE_MAIN = join(ROOT, 'services/keyservice/src/main.ts');
const NOOP_SERVER = join(ROOT, 'bench/support/noop-server.ts');

/** A child process serving HTTP, started with tsx like an operator would start the service. */
export interface ChildServer {
  url: string;
  child: ChildProcess;
  output: () => string;
  /** SIGTERM, then SIGKILL after 10 s; resolves when the process has exited. */
  stop(): Promise<void>;
}

/** Starts `script` with tsx and `env`, and waits for a `listening on http://...` line. */
export async function startTsxServer(
  script: string,
  env: Record<string, string>,
  timeoutMs = 60_000,
): Promise<ChildServer> {
  const child = spawn(TSX, [script], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  // Keep only the tail: a long run must not hold every log line in memory.
  const append = (d: Buffer) => {
    out = (out + d.toString()).slice(-64 * 1024);
  };
  child.stdout?.on('data', append);
  child.stderr?.on('data', append);
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const url = await new Promise<string>((resolveUrl, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${script} did not start in ${timeoutMs} ms:\n${out}`)),
      timeoutMs,
    );
    const check = () => {
      const m = /listening on (http:\/\/[0-9.]+:\d+)/.exec(out);
      if (m?.[1]) {
        clearTimeout(timer);
        resolveUrl(m[1]);
      }
    };
    child.stdout?.on('data', check);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`${script} exited with ${code} before listening:\n${out}`));
    });
  });
  return {
    url,
    child,
    output: () => out,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const force = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(force);
    },
  };
}

/** Starts the key service (`services/keyservice/src/main.ts`) with `env` on a free port. */
export function startService(env: Record<string, string>): Promise<ChildServer> {
  return startTsxServer(SERVICE_MAIN, { LOG_LEVEL: 'warn', ...env });
}

/** Starts the express 5 no-op JSON server (`bench/support/noop-server.ts`). */
export function startNoopServer(): Promise<ChildServer> {
  return startTsxServer(NOOP_SERVER, {});
}

/** A temporary directory, removed by the returned cleanup. */
export async function tempDir(prefix: string): Promise<{ path: string; remove: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}
