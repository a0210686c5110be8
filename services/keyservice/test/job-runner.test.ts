import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from '@jest/globals';
import { JobRunner, type JobTask } from '../src/domain/jobs/job-runner.js';
import { createLogger } from '../src/logger.js';

/** A logger whose JSON lines land in `lines`. */
function capture(): { lines: Record<string, unknown>[]; runner: JobRunner } {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString('utf8').split('\n')) if (l) lines.push(JSON.parse(l));
      done();
    },
  });
  return { lines, runner: new JobRunner(createLogger('info', sink)) };
}

/** A task that records when each run starts and ends, and how many overlap. */
function probe(
  name: string,
  schedule: JobTask['schedule'],
  body: (n: number, signal: AbortSignal) => Promise<void> = async () => undefined,
) {
  const starts: number[] = [];
  const ends: number[] = [];
  let active = 0;
  let maxActive = 0;
  const t0 = Date.now();
  const task: JobTask = {
    name,
    schedule,
    run: async (signal) => {
      active += 1;
      maxActive = Math.max(maxActive, active);
      starts.push(Date.now() - t0);
      try {
        await body(starts.length, signal);
      } finally {
        active -= 1;
        ends.push(Date.now() - t0);
      }
    },
  };
  return { task, starts, ends, maxActive: () => maxActive };
}

/** Waits (polling) until `check` holds; fails after `ms`. */
async function until(what: string, check: () => boolean, ms = 2000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(2);
  }
}

let runner: JobRunner | undefined;
afterEach(async () => {
  await runner?.stop();
  runner = undefined;
});

describe('JobRunner', () => {
  it('runs a polling job at once, then the poll delay after each run ends', async () => {
    const c = capture();
    runner = c.runner;
    const p = probe('poll', { kind: 'poll', pollMs: 60 }, () => sleep(40));
    runner.add(p.task);
    await sleep(330);
    expect(p.starts[0]).toBeLessThan(100);
    // Each start waits for the previous end plus the poll delay (not a fixed rate).
    for (let i = 1; i < p.starts.length; i++) {
      expect(p.starts[i]! - p.ends[i - 1]!).toBeGreaterThanOrEqual(55);
    }
    expect(p.starts.length).toBeGreaterThanOrEqual(2);
    expect(p.starts.length).toBeLessThanOrEqual(4);
  });

  it('runs an interval job at a fixed rate from one period after start, skipping beats while a run is going', async () => {
    const c = capture();
    runner = c.runner;
    const slow = probe('interval', { kind: 'interval', everyMs: 50 }, (n) => sleep(n === 1 ? 120 : 5));
    runner.add(slow.task);
    await sleep(330);
    expect(slow.starts[0]).toBeGreaterThanOrEqual(45);
    expect(slow.maxActive()).toBe(1);
    // The first run (50..170 ms) swallowed the beats at 100 and 150; the next run waits for the grid (200).
    expect(slow.starts[1]).toBeGreaterThanOrEqual(195);
  });

  it('never starts an interval job whose period is 0', async () => {
    const c = capture();
    runner = c.runner;
    const off = probe('off', { kind: 'interval', everyMs: 0 });
    runner.add(off.task);
    await sleep(100);
    expect(off.starts).toEqual([]);
  });

  it('logs a failed run with the job name and backs off exponentially while it keeps failing', async () => {
    const c = capture();
    runner = c.runner;
    const failing = probe('flaky', { kind: 'poll', pollMs: 20 }, async () => {
      throw new Error('database unavailable');
    });
    runner.add({ ...failing.task, maxBackoffMs: 160 });
    await sleep(700);
    const gaps = failing.starts.slice(1).map((s, i) => s - failing.ends[i]!);
    // 40, 80, 160, 160, ...: doubling from the poll delay up to the cap.
    expect(gaps[0]).toBeGreaterThanOrEqual(35);
    expect(gaps[1]).toBeGreaterThanOrEqual(75);
    expect(gaps[2]).toBeGreaterThanOrEqual(155);
    expect(Math.max(...gaps)).toBeLessThan(300);
    expect(gaps[1]).toBeLessThan(130);
    const logged = c.lines.filter((l) => l.msg === 'background job failed');
    expect(logged.length).toBe(failing.starts.length);
    expect(logged[0]).toMatchObject({ job: 'flaky', failures: 1, err: 'database unavailable', level: 50 });
  });

  it('returns to the normal delay after a run succeeds again', async () => {
    const c = capture();
    runner = c.runner;
    const p = probe('recovers', { kind: 'poll', pollMs: 20 }, async (n) => {
      if (n <= 3) throw new Error('down');
    });
    runner.add(p.task);
    await sleep(500);
    const gaps = p.starts.slice(1).map((s, i) => s - p.ends[i]!);
    // Failures 1..3 back off (40, 80, 160); after run 4 succeeds the gap is the poll delay again.
    expect(gaps[2]).toBeGreaterThanOrEqual(155);
    expect(gaps[3]).toBeLessThan(120);
  });

  it('stop() aborts the run in progress, waits for it, and nothing runs afterwards', async () => {
    const c = capture();
    runner = c.runner;
    let sawAbort = false;
    const p = probe('long', { kind: 'poll', pollMs: 10 }, async (_n, signal) => {
      while (!signal.aborted) await sleep(10);
      await sleep(50);
      sawAbort = true;
    });
    runner.add(p.task);
    await until('the first run', () => p.starts.length === 1);
    const stopping = runner.stop();
    expect(sawAbort).toBe(false);
    await stopping;
    expect(sawAbort).toBe(true);
    expect(p.ends).toHaveLength(1);
    await sleep(60);
    expect(p.starts).toHaveLength(1);
  });

  it('wake() runs a polling job now, or right after the run in progress', async () => {
    const c = capture();
    runner = c.runner;
    const p = probe('wakeable', { kind: 'poll', pollMs: 10_000 }, () => sleep(30));
    const handle = runner.add(p.task);
    await until('the first run', () => p.starts.length === 1);
    handle.wake(); // during the first run: queued, not overlapping
    await until('the woken run', () => p.ends.length === 2);
    expect(p.maxActive()).toBe(1);
    handle.wake();
    await until('the second woken run', () => p.starts.length === 3);
    // Without the wakes the next run would come 10 s after the previous one.
    expect(p.starts[2]! - p.ends[1]!).toBeLessThan(1000);
  });
});
