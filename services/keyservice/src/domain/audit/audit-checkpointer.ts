import { chainsNeedingCheckpoint, createCheckpoint, type CheckpointSigner } from '@byok/audit';
import type { Queryable } from '@byok/store';
import type { Logger } from '../../logger.js';
import type { JobTask } from '../jobs/job-runner.js';

/**
 * Signs the head of every chain that moved since its last checkpoint, every `intervalSeconds`
 * (0 = off). Safe on several instances: checkpoints are keyed by (chain, seq).
 */
export class AuditCheckpointer {
  constructor(
    private readonly q: Queryable,
    private readonly signer: CheckpointSigner,
    private readonly logger: Logger,
    private readonly intervalSeconds: number,
  ) {}

  /** The periodic job for the runner (off when the interval is 0). */
  task(): JobTask {
    return {
      name: 'audit-checkpointer',
      schedule: { kind: 'interval', everyMs: this.intervalSeconds * 1000 },
      run: (signal) => this.runOnce(signal),
    };
  }

  /** Checkpoints every chain that needs it; returns how many were created. */
  async runOnce(signal?: AbortSignal): Promise<number> {
    let created = 0;
    for (const chain of await chainsNeedingCheckpoint(this.q)) {
      if (signal?.aborted) break;
      const r = await createCheckpoint(this.q, chain, this.signer);
      if (r.created) created += 1;
      if ('refused' in r && r.refused) {
        this.logger.error({ chain, ...r.refused }, 'audit chain failed verification; checkpoint NOT signed');
      }
    }
    return created;
  }
}
