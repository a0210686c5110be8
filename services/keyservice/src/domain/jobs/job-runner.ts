import type { Logger } from '../../logger.js';

/** When a background job runs. */
export type JobSchedule =
  /**
   * Fixed rate: a run starts every `everyMs`, the first one `everyMs` after start; a beat that finds
   * the previous run still going is skipped. 0 or less: the job is off.
   */
  | { kind: 'interval'; everyMs: number }
  /** Polling: the first run after `firstDelayMs` (default 0), then `pollMs` after each run ends. */
  | { kind: 'poll'; pollMs: number; firstDelayMs?: number };

/** A named piece of background work a feature hands to the {@link JobRunner}. */
export interface JobTask {
  /** Shown in logs, e.g. `audit-checkpointer`. */
  name: string;
  schedule: JobSchedule;
  /** One run. `signal` aborts when the runner stops: long runs should return at their next step. */
  run(signal: AbortSignal): Promise<unknown>;
  /** Longest delay after consecutive failed runs (default: the larger of 30 s and the period). */
  maxBackoffMs?: number;
}

/** A started job. */
export interface JobHandle {
  readonly name: string;
  /** Runs a polling job now instead of at its next poll (after the current run, if one is going). */
  wake(): void;
  /** Stops scheduling and waits for the run in progress. */
  stop(): Promise<void>;
}

/** A repeating synchronous or fire-and-forget callback, e.g. a lease heartbeat or a cache sweep. */
export interface Ticker {
  stop(): void;
}

/**
 * Calls `fn` every `everyMs` on an unref'd timer until stopped. For small periodic chores inside a
 * feature or a running job; scheduled work with its own runs belongs in a {@link JobTask}.
 */
export function startTicker(everyMs: number, fn: () => void): Ticker {
  const timer = setInterval(fn, everyMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}

/**
 * The one owner of background loops: timing (fixed rate or poll delay), no overlapping runs of a
 * job, failure logging with exponential backoff, unref'd timers (a job never keeps the process
 * alive), and a stop that waits for the run in progress.
 */
export class JobRunner {
  private readonly jobs = new Set<ScheduledJob>();

  constructor(private readonly logger: Logger) {}

  /** Starts a job and returns its handle. */
  add(task: JobTask): JobHandle {
    const job = new ScheduledJob(task, this.logger, (j) => this.jobs.delete(j));
    this.jobs.add(job);
    job.start();
    return job;
  }

  /** Stops every job and waits for the runs in progress. */
  async stop(): Promise<void> {
    await Promise.all([...this.jobs].map((j) => j.stop()));
  }
}

class ScheduledJob implements JobHandle {
  readonly name: string;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private readonly abort = new AbortController();
  private failures = 0;
  private woken = false;
  private startedAt = 0;

  constructor(
    private readonly task: JobTask,
    private readonly logger: Logger,
    private readonly onStop: (j: ScheduledJob) => void,
  ) {
    this.name = task.name;
  }

  start(): void {
    const s = this.task.schedule;
    this.startedAt = Date.now();
    if (s.kind === 'interval') {
      if (s.everyMs > 0) this.schedule(s.everyMs);
    } else {
      this.schedule(s.firstDelayMs ?? 0);
    }
  }

  wake(): void {
    if (this.abort.signal.aborted || this.task.schedule.kind !== 'poll') return;
    if (this.running) this.woken = true;
    else this.schedule(0);
  }

  async stop(): Promise<void> {
    this.abort.abort();
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.onStop(this);
    await this.running;
  }

  private schedule(ms: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => this.fire(), ms);
    this.timer.unref();
  }

  private fire(): void {
    this.timer = undefined;
    if (this.abort.signal.aborted || this.running) return;
    this.running = this.task
      .run(this.abort.signal)
      .then(
        () => {
          this.failures = 0;
        },
        (err: unknown) => {
          this.failures += 1;
          this.logger.error(
            { job: this.name, failures: this.failures, err: (err as Error).message },
            'background job failed',
          );
        },
      )
      .finally(() => {
        this.running = undefined;
        if (!this.abort.signal.aborted) this.schedule(this.nextDelay());
      });
  }

  /** Delay until the next run, measured from the end of the one that just finished. */
  private nextDelay(): number {
    const s = this.task.schedule;
    const period = s.kind === 'interval' ? s.everyMs : s.pollMs;
    if (this.failures > 0) {
      const cap = this.task.maxBackoffMs ?? Math.max(30_000, period);
      // The floor keeps a zero-delay poll from spinning on a persistent failure.
      return Math.min(cap, Math.max(period, 10) * 2 ** Math.min(this.failures, 20));
    }
    if (s.kind === 'poll') {
      if (!this.woken) return s.pollMs;
      this.woken = false;
      return 0;
    }
    // Fixed rate: the next beat of the grid that started with the job (beats during the run are skipped).
    const elapsed = Date.now() - this.startedAt;
    return s.everyMs - (elapsed % s.everyMs);
  }
}
