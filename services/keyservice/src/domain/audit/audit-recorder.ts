import type { Metrics } from '../../metrics.js';
import type { Principal } from '../tokens/token-service.js';

/** The fields of one audit event the service writes (never plaintext, secrets or key material). */
export interface AuditEntry {
  tenantId?: string | null;
  action: string;
  outcome: 'success' | 'failure' | 'denied';
  resource?: string;
  errorCode?: string;
  purpose?: string;
  kmsProvider?: string;
  kmsKeyRef?: string;
  kmsRequestId?: string;
  details?: Record<string, string | number | boolean | null>;
}

/** Who and which request an event belongs to. */
export interface AuditActor {
  principal?: Principal | undefined;
  requestId?: string | undefined;
}

/** The writer this service needs: resolves only once the event is committed. */
export interface AuditSink {
  record(
    e: Omit<AuditEntry, 'tenantId'> & {
      tenantId?: string;
      actorTokenId?: string;
      actorRole?: string;
      requestId?: string;
    },
  ): Promise<unknown>;
}

/** Adds the actor and request id to events and times each commit. Rejections propagate (fail closed). */
export class AuditRecorder {
  constructor(
    private readonly sink: AuditSink,
    private readonly metrics: Metrics,
  ) {}

  /** Writes one event and waits for its commit. */
  async record(actor: AuditActor, e: AuditEntry): Promise<void> {
    const end = this.metrics.auditWriteDuration.startTimer();
    try {
      const { tenantId, ...rest } = e;
      const event: Omit<AuditEntry, 'tenantId'> & {
        tenantId?: string;
        actorTokenId?: string;
        actorRole?: string;
        requestId?: string;
      } = rest;
      if (tenantId) event.tenantId = tenantId;
      if (actor.principal) {
        event.actorTokenId = actor.principal.tokenId;
        event.actorRole = actor.principal.role;
      }
      if (actor.requestId) event.requestId = actor.requestId;
      await this.sink.record(event);
      end({ outcome: 'ok' });
    } catch (err) {
      end({ outcome: 'error' });
      throw err;
    }
  }
}
