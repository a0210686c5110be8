/**
 * Child processes for benchmarks: the key service and the express no-op server, started the same
 * way the end-to-end tests start them (`test/support/service-process.ts`).
 */
import { join } from 'node:path';
import {
  ROOT,
  startServiceProcess,
  startTsxServer,
  tempDir,
  type ServiceProcess,
} from '../../test/support/service-process.js';

export { ROOT, tempDir };

/** A child process serving HTTP. */
export type ChildServer = ServiceProcess;

/** Starts the key service with `env` on a free port. */
export function startService(env: Record<string, string>): Promise<ChildServer> {
  return startServiceProcess(env);
}

/** Starts the express 5 no-op JSON server (`bench/support/noop-server.ts`). */
export function startNoopServer(): Promise<ChildServer> {
  return startTsxServer(join(ROOT, 'bench/support/noop-server.ts'), {});
}

/** Starts the AI provider fake (`bench/support/ai-fake-process.ts`) accepting `keys`. */
export function startAiFakeProcess(keys: readonly string[]): Promise<ChildServer> {
  return startTsxServer(join(ROOT, 'bench/support/ai-fake-process.ts'), { AI_FAKE_KEYS: keys.join(',') });
}

/** Starts the floor proxy (`bench/support/floor-proxy.ts`): one commit and a relay per request. */
export function startFloorProxy(env: {
  UPSTREAM_URL: string;
  UPSTREAM_KEY: string;
  DATABASE_URL: string;
}): Promise<ChildServer> {
  return startTsxServer(join(ROOT, 'bench/support/floor-proxy.ts'), env);
}
