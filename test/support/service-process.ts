import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { trackChild } from './children.js';
import { assertContractReply } from './contract-check.js';

/** The repository root. */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const TSX = join(ROOT, 'node_modules/.bin/tsx');
const MAIN = join(ROOT, 'services/keyservice/src/main.ts');

/** A TypeScript program started with tsx in its own process, tracked until it exits. */
export interface TsxProcess {
  child: ChildProcess;
  /** What its stdout matched when it became ready (see {@link startTsxProcess}). */
  ready: RegExpExecArray;
  /** The last 64 KiB of its stdout and stderr. */
  output: () => string;
  /** SIGTERM (SIGKILL after 10 s) and wait for exit; resolves with the exit code. */
  stop(): Promise<number | null>;
  /** SIGKILL (crash) and wait for exit. */
  kill(): Promise<void>;
}

/** Options for {@link startTsxProcess}. */
export interface TsxProcessOptions {
  /** Command-line arguments after the script. */
  args?: string[];
  /** Its whole environment besides PATH and HOME. */
  env: Record<string, string>;
  /** It is ready once its output matches this. */
  ready: RegExp;
  timeoutMs?: number;
}

/**
 * Starts `script` with tsx and waits until its output matches `ready`. The process is registered
 * with test/support/children.ts, so no test leaves it behind. Shared by the end-to-end tests and
 * the benchmarks.
 */
export async function startTsxProcess(script: string, opts: TsxProcessOptions): Promise<TsxProcess> {
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const child = spawn(TSX, [script, ...(opts.args ?? [])], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...opts.env },
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
  const running = () => child.exitCode === null && child.signalCode === null;
  const stop = async () => {
    if (running()) {
      child.kill('SIGTERM');
      const force = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(force);
    }
    return exited;
  };
  // Tracked until it exits, so a failed test never leaves it behind (test/support/children.ts).
  void exited.then(trackChild({ label: `${script} (pid ${child.pid ?? '?'})`, running, stop }));
  const ready = await new Promise<RegExpExecArray>((resolveReady, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${script} did not start in ${timeoutMs} ms:\n${out}`));
    }, timeoutMs);
    const check = () => {
      const m = opts.ready.exec(out);
      if (m) {
        clearTimeout(timer);
        resolveReady(m);
      }
    };
    child.stdout?.on('data', check);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`${script} exited with ${code} before it was ready:\n${out}`));
    });
  });
  return {
    child,
    ready,
    output: () => out,
    stop,
    async kill() {
      if (running()) child.kill('SIGKILL');
      await exited;
    },
  };
}

/** A TypeScript program serving HTTP in its own process (run with tsx, as an operator would). */
export interface ServiceProcess extends Omit<TsxProcess, 'ready'> {
  url: string;
  port: number;
  /** The metrics listener (`http://host:port`) when the program printed one. */
  metricsUrl: string | undefined;
  /** Process id of the program itself (tsx runs it as its own child): signal this one, e.g. SIGHUP. */
  pid: number | undefined;
}

/**
 * Starts `script` with tsx and `env` (plus PATH and HOME) on a free port, and waits for its
 * `listening on http://...` line. Shared by the end-to-end tests and the benchmarks.
 */
export async function startTsxServer(
  script: string,
  env: Record<string, string>,
  timeoutMs = 60_000,
): Promise<ServiceProcess> {
  const { ready, ...proc } = await startTsxProcess(script, {
    env: { PORT: '0', ...env },
    ready: /listening on (https?:\/\/[0-9.]+:\d+)/,
    timeoutMs,
  });
  const url = ready[1] ?? '';
  const out = proc.output();
  const pid = /\bpid (\d+)\)/.exec(out)?.[1];
  return {
    ...proc,
    url,
    port: Number(new URL(url).port),
    metricsUrl: /metrics on (http:\/\/[0-9.]+:\d+)/.exec(out)?.[1],
    pid: pid ? Number(pid) : undefined,
  };
}

/**
 * Starts the key service (`services/keyservice/src/main.ts`) with `env` and waits until it
 * listens. Development mode (local KMS, embedded database, plain HTTP) and a free metrics port
 * unless `env` says otherwise.
 */
export function startServiceProcess(
  env: Record<string, string>,
  timeoutMs = 60_000,
): Promise<ServiceProcess> {
  return startTsxServer(
    MAIN,
    { LOG_LEVEL: 'warn', BYOK_MODE: 'development', METRICS_PORT: '0', ...env },
    timeoutMs,
  );
}

/** A temporary data directory, removed by the returned cleanup. */
export async function tempDir(prefix: string): Promise<{ path: string; remove: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

/** JSON over HTTP with a bearer token; returns status and parsed body, checked against the contract. */
export async function api(
  url: string,
  method: string,
  path: string,
  token?: string,
  body?: unknown,
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
): Promise<{ status: number; body: any; text: string }> {
  const headers: Record<string, string> = {};
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${url}${path}`, {
    method,
    headers,
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  assertContractReply(method, path, res.status, res.headers.get('content-type'), text);
  let parsed: unknown;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  return { status: res.status, body: parsed, text };
}
