import {
  PLATFORM_CHAIN,
  chainNeedsCheckpoint,
  chainsNeedingCheckpoint,
  createCheckpoint,
  type CheckpointResult,
  type CheckpointSigner,
} from '@byok/audit';
import type { Queryable } from '@byok/store';
import { AppError } from '../../errors.js';
import type { Logger } from '../../logger.js';
import type { JobTask } from '../jobs/job-runner.js';
import type { AuditActor, AuditRecorder } from './audit-recorder.js';

/**
 * Creates signed checkpoints, each audited (`audit.checkpoint`), on request or every
 * `intervalSeconds` (0 = off). The event is written into the chain BEFORE its head is signed, so
 * the checkpoint covers its own audit event and a checkpointed chain stays still (no event after
 * every checkpoint, no endless re-signing). Safe on several instances: checkpoints are keyed by
 * (chain, seq).
 */
export class AuditCheckpointer {
  constructor(
    private readonly q: Queryable,
    private readonly signer: CheckpointSigner,
    private readonly audit: AuditRecorder,
    private readonly logger: Logger,
    private readonly intervalSeconds: number,
    /** True once this instance's signing key was retired by a rotation (then it signs nothing). */
    private readonly signerRetired: () => Promise<boolean> = () => Promise.resolve(false),
  ) {}

  /** The periodic job for the runner (off when the interval is 0). */
  task(): JobTask {
    return {
      name: 'audit-checkpointer',
      schedule: { kind: 'interval', everyMs: this.intervalSeconds * 1000 },
      run: (signal) => this.runOnce(signal),
    };
  }

  /**
   * Signs the head of `chain` when it moved since its last checkpoint (auditing it first);
   * otherwise answers the latest checkpoint as it is. A refusal (the chain failed verification)
   * is audited as a failure.
   */
  async checkpoint(chain: string, actor: AuditActor = {}): Promise<CheckpointResult> {
    if (!(await chainNeedsCheckpoint(this.q, chain))) return createCheckpoint(this.q, chain, this.signer);
    if (await this.signerRetired()) {
      throw new AppError(
        'AUDIT_UNAVAILABLE',
        "this instance's audit signing key was retired by a key rotation: restart it with the new AUDIT_SIGNING_KEY_FILE",
      );
    }
    const tenantId = chain === PLATFORM_CHAIN ? null : chain;
    await this.audit.record(actor, {
      tenantId,
      action: 'audit.checkpoint',
      outcome: 'success',
      resource: `audit/${chain}`,
    });
    const r = await createCheckpoint(this.q, chain, this.signer);
    if ('refused' in r && r.refused) {
      this.logger.error({ chain, ...r.refused }, 'audit chain failed verification; checkpoint NOT signed');
      await this.audit.record(actor, {
        tenantId,
        action: 'audit.checkpoint',
        outcome: 'failure',
        resource: `audit/${chain}`,
        errorCode: 'AUDIT_CHAIN_BROKEN',
        details: { reason: r.refused.reason },
      });
    }
    return r;
  }

  /** Checkpoints every chain that needs it; returns how many were created. */
  async runOnce(signal?: AbortSignal): Promise<number> {
    let created = 0;
    const chains = await chainsNeedingCheckpoint(this.q);
    if (chains.length > 0 && (await this.signerRetired())) {
      // Instances with the new key sign these chains; signing here would only make invalid checkpoints.
      this.logger.warn('audit signing key retired by a rotation; this instance no longer signs checkpoints');
      return 0;
    }
    for (const chain of chains) {
      if (signal?.aborted) break;
      if ((await this.checkpoint(chain)).created) created += 1;
    }
    return created;
  }
}
