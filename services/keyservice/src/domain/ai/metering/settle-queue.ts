/** Options for {@link SettleQueue}. */
export interface SettleQueueOptions<T> {
  /** Writes one batch in one statement; rejects if nothing was written. */
  write: (items: T[]) => Promise<void>;
  /** Most items per batch (a full queue is written at once). */
  maxBatch: number;
  /** Longest a settle waits for others to share its batch. */
  lingerMs: number;
  /** Whether a failed batch may be written once more (e.g. a deadlock or serialization failure). */
  retryable?: (err: unknown) => boolean;
}

interface Queued<T> {
  item: T;
  resolve(): void;
  reject(err: unknown): void;
}

/**
 * Group commit for gateway settles. Settling happens after the answer has gone, and every settle
 * of a tenant updates the same counter rows: one statement per call queues them behind each
 * other's commits (a few hundred calls a second per tenant at most). Here they wait up to
 * `lingerMs` and go in one statement per batch, one batch in flight at a time. Until written, a
 * call's reservation still holds its amount, so a cap is never passed meanwhile. `push` resolves
 * once the item's batch committed.
 */
export class SettleQueue<T> {
  private queue: Queued<T>[] = [];
  private inFlight: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(private readonly o: SettleQueueOptions<T>) {}

  /** Queues one settle; resolves after its batch committed, rejects if it failed. */
  push(item: T): Promise<void> {
    if (this.closed) return Promise.reject(new Error('settle queue is closed'));
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      this.schedule();
    });
  }

  /** Writes what is queued and refuses more. */
  async close(): Promise<void> {
    this.closed = true;
    this.flush();
    while (this.inFlight || this.queue.length > 0) {
      if (!this.inFlight) this.flush();
      await this.inFlight;
    }
  }

  private schedule(): void {
    if (this.inFlight) return;
    if (this.queue.length >= this.o.maxBatch || this.closed) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), this.o.lingerMs);
  }

  private flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.inFlight || this.queue.length === 0) return;
    const batch = this.queue.splice(0, this.o.maxBatch);
    this.inFlight = this.writeBatch(batch).finally(() => {
      this.inFlight = undefined;
      if (this.queue.length > 0) this.schedule();
    });
  }

  private async writeBatch(batch: Queued<T>[]): Promise<void> {
    const items = batch.map((q) => q.item);
    try {
      try {
        await this.o.write(items);
      } catch (err) {
        if (!this.o.retryable?.(err)) throw err;
        await this.o.write(items);
      }
      for (const q of batch) q.resolve();
    } catch (err) {
      for (const q of batch) q.reject(err);
    }
  }
}
