import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { runningChildren } from './support/children.js';
import { startTsxServer, tempDir, type ServiceProcess } from './support/service-process.js';

/** A process that prints the line startTsxServer waits for, then idles until it is killed. */
const IDLE = `process.stdout.write('listening on http://127.0.0.1:9\\n'); setInterval(() => undefined, 1000);\n`;

const alive = (p: ServiceProcess) => p.child.exitCode === null && p.child.signalCode === null;

// test/support/child-cleanup.setup.ts: a process a test started is stopped after that test even
// when the test never reached its own cleanup (as after a failed assertion); one started in a
// beforeAll lives until the file ends.
describe('service processes never outlive their test', () => {
  let dir: { path: string; remove: () => Promise<void> };
  let script: string;
  let fileScoped: ServiceProcess;
  let leaked: ServiceProcess;

  beforeAll(async () => {
    dir = await tempDir('byok-children-');
    script = join(dir.path, 'idle.ts');
    await writeFile(script, IDLE);
    fileScoped = await startTsxServer(script, {});
  });
  afterAll(async () => {
    await dir?.remove();
  });

  it('a test starts a process and ends without stopping it', async () => {
    leaked = await startTsxServer(script, {});
    expect(alive(leaked)).toBe(true);
    expect(runningChildren()).toBe(2);
  });

  it('the next test finds it stopped, and the beforeAll process still running', () => {
    expect(alive(leaked)).toBe(false);
    expect(alive(fileScoped)).toBe(true);
    expect(runningChildren()).toBe(1);
  });
});
