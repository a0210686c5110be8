// Jest setup for the end-to-end tier (jest.config.js `setupFilesAfterEnv`): no service process
// outlives the test that started it, even when an assertion failed before the test's own cleanup.
import { afterAll, afterEach, beforeEach } from '@jest/globals';
import { markTestRunning, stopChildren } from './children.js';

const report = (when: string, labels: string[]) => {
  if (labels.length)
    process.stderr.write(`[children] ${when}: stopped ${labels.length} left running: ${labels.join(', ')}\n`);
};

beforeEach(() => markTestRunning(true));
afterEach(async () => {
  markTestRunning(false);
  report('after the test', await stopChildren('test'));
});
afterAll(async () => {
  report('after the file', await stopChildren('all'));
});
