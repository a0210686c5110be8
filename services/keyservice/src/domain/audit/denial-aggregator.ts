import type { AuditAction } from '@byok/audit';
import type { Logger } from '../../logger.js';
import type { AuditActor, AuditRecorder } from './audit-recorder.js';

/** One denial of a token against a tenant it may not act on. */
export interface Denial {
  tenantId: string;
  action: AuditAction;
  resource: string;
}

interface Window {
  startedAt: number;
  /** Denials since the last written event, not yet in the chain. */
  pending: number;
  actor: AuditActor;
  last: Denial;
}

/**
 * Aggregates denials of one token against one foreign tenant: at most one audit event per token,
 * tenant and window, with `details.count`. The first denial of a window is written before the 403
 * (an audit failure still refuses the request); later ones are counted and written with the next
 * event after the window, by {@link flushDue} (job runner) or by {@link flushAll} on shutdown. A
 * denial issues no plaintext, so counting instead of writing each one does not weaken fail-closed.
 */
export class DenialAggregator {
  private readonly windows = new Map<string, Window>();

  constructor(
    private readonly audit: AuditRecorder,
    private readonly windowMs: number,
    private readonly logger: Logger,
    private readonly now: () => number = () => Date.now(),
  ) {}

  /** Records (or counts) one denial by `actor`'s token. */
  async deny(actor: AuditActor, d: Denial): Promise<void> {
    const tokenId = actor.principal?.tokenId;
    if (this.windowMs <= 0 || !tokenId) return this.write(actor, d, 1);
    const key = `${tokenId}\u0000${d.tenantId}`;
    const w = this.windows.get(key);
    const now = this.now();
    if (w && now - w.startedAt < this.windowMs) {
      w.pending += 1;
      w.actor = actor;
      w.last = d;
      return;
    }
    const count = (w?.pending ?? 0) + 1;
    this.windows.set(key, { startedAt: now, pending: 0, actor, last: d });
    await this.write(actor, d, count);
  }

  /** Writes the counts of windows that have ended; drops ended windows with nothing pending. */
  async flushDue(): Promise<void> {
    const now = this.now();
    for (const [key, w] of [...this.windows]) {
      if (now - w.startedAt < this.windowMs) continue;
      this.windows.delete(key);
      if (w.pending > 0) await this.flushOne(w);
    }
  }

  /** Writes every pending count (shutdown). */
  async flushAll(): Promise<void> {
    const all = [...this.windows.values()];
    this.windows.clear();
    for (const w of all) if (w.pending > 0) await this.flushOne(w);
  }

  private async flushOne(w: Window): Promise<void> {
    try {
      await this.write(w.actor, w.last, w.pending);
    } catch (err) {
      this.logger.error({ err, count: w.pending }, 'could not write aggregated denials');
    }
  }

  private write(actor: AuditActor, d: Denial, count: number): Promise<void> {
    return this.audit.record(actor, {
      tenantId: d.tenantId,
      action: d.action,
      outcome: 'denied',
      resource: d.resource,
      errorCode: 'FORBIDDEN',
      ...(count > 1 || this.windowMs > 0 ? { details: { count } } : {}),
    } as Parameters<AuditRecorder['record']>[1]);
  }
}
