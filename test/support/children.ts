/**
 * Every service process the end-to-end tests (and benchmarks) start, so none outlives its test:
 * `test/support/child-cleanup.setup.ts` stops, after each test, the processes that test started
 * (also when an assertion failed halfway), and after each file the ones its `beforeAll` started.
 * No Jest import here: the benchmarks share the process helpers.
 */

/** A started process as the registry sees it. */
export interface TrackedChild {
  /** What it runs, for the report line. */
  label: string;
  running(): boolean;
  /** Ends it (SIGTERM, then SIGKILL) and resolves once it exited. */
  stop(): Promise<unknown>;
}

interface Entry {
  child: TrackedChild;
  /** Started inside a test (`it`), not in a `beforeAll`. */
  inTest: boolean;
}

const live = new Set<Entry>();
let testRunning = false;

/** Registers a started process; returns the function that unregisters it once it exited. */
export function trackChild(child: TrackedChild): () => void {
  const entry = { child, inTest: testRunning };
  live.add(entry);
  return () => live.delete(entry);
}

/** Marks the start (true) or end (false) of a test body. */
export function markTestRunning(running: boolean): void {
  testRunning = running;
}

/**
 * Stops the tracked processes still running (`'test'`: those started during the current test;
 * `'all'`: every one); returns the labels of those it had to stop.
 */
export async function stopChildren(which: 'test' | 'all'): Promise<string[]> {
  const chosen = [...live].filter((e) => which === 'all' || e.inTest);
  const stopped: string[] = [];
  await Promise.all(
    chosen.map(async (e) => {
      live.delete(e);
      if (!e.child.running()) return;
      stopped.push(e.child.label);
      await e.child.stop().catch(() => undefined);
    }),
  );
  return stopped;
}

/** How many tracked processes are running now. */
export function runningChildren(): number {
  return [...live].filter((e) => e.child.running()).length;
}
