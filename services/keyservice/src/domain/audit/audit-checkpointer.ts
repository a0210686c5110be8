import { chainsNeedingCheckpoint, createCheckpoint, type CheckpointSigner } from '@byok/audit';
import type { Queryable } from '@byok/store';
import type { Logger } from '../../logger.js';

/**
 * Signs the head of every chain that moved since its last checkpoint, every `intervalSeconds`
 * (0 = off). Safe on several instances: checkpoints are keyed by (chain, seq).
 */
export class AuditCheckpointer {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(
    private readonly q: Queryable,
    private readonly signer: CheckpointSigner,
    private readonly logger: Logger,
    private readonly intervalSeconds: number,
  ) {}

  /** Starts the periodic job (no-op when the interval is 0). */
  start(): void {
    if (this.intervalSeconds <= 0) return;
    this.timer = setInterval(() => {
      if (this.running) return;
      this.running = this.runOnce()
        .then(() => undefined)
        .catch((err: unknown) =>
          this.logger.error({ err: (err as Error).message }, 'audit checkpoint round failed'),
        )
        .finally(() => {
          this.running = undefined;
        });
    }, this.intervalSeconds * 1000);
    this.timer.unref();
  }

  /** Stops the job and waits for a running round. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.running;
  }

  /** Checkpoints every chain that needs it; returns how many were created. */
  async runOnce(): Promise<number> {
    let created = 0;
    for (const chain of await chainsNeedingCheckpoint(this.q)) {
      const r = await createCheckpoint(this.q, chain, this.signer);
      if (r.created) created += 1;
      if ('refused' in r && r.refused) {
        this.logger.error({ chain, ...r.refused }, 'audit chain failed verification; checkpoint NOT signed');
      }
    }
    return created;
  }
}
