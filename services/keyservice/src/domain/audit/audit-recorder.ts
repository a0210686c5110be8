import {
  assertCataloguedEvent,
  type AuditAction,
  type AuditDetailsFor,
  type AuditDetailValue,
} from '@byok/audit';
import type { Metrics } from '../../metrics.js';
import type { Principal } from '../tokens/token-service.js';

/**
 * The fields of one audit event the service writes (never plaintext, secrets or key material).
 * `action` is a catalogued action (`AUDIT_ACTIONS` in @byok/audit) and `details` may use only the
 * keys the catalogue allows for it.
 */
export interface AuditEntry<A extends AuditAction = AuditAction> {
  tenantId?: string | null;
  action: A;
  outcome: 'success' | 'failure' | 'denied';
  resource?: string;
  errorCode?: string;
  purpose?: string;
  kmsProvider?: string;
  kmsKeyRef?: string;
  kmsRequestId?: string;
  details?: AuditDetailsFor<A>;
}

/** Who and which request an event belongs to. */
export interface AuditActor {
  principal?: Principal | undefined;
  /** Server-issued request id (or a job id). */
  requestId?: string | undefined;
  /** The client's own X-Request-Id, recorded beside the server's id. */
  clientRequestId?: string | undefined;
  /** The client address (`req.ip`). */
  clientAddress?: string | undefined;
}

/** One event as handed to the appender: the entry plus its actor and request id. */
export type AppendedAuditEvent = Omit<AuditEntry, 'tenantId' | 'details'> & {
  tenantId?: string;
  actorTokenId?: string;
  actorRole?: string;
  requestId?: string;
  clientRequestId?: string;
  clientAddress?: string;
  details?: Record<string, AuditDetailValue>;
};

/**
 * The audit log writer this service needs (the port the @byok/audit writer fills): resolves only
 * once the event is committed. Not to be confused with audit sinks, the SIEM webhooks.
 */
export interface AuditAppender {
  /** `defer`: the event may wait (a few ms) to ride in the next batch (see the audit writer). */
  record(e: AppendedAuditEvent, opts?: { defer?: boolean }): Promise<unknown>;
}

/**
 * Adds the actor and request id to events, refuses actions and detail keys outside the catalogue,
 * and times each commit. Rejections propagate (fail closed).
 */
export class AuditRecorder {
  constructor(
    private readonly appender: AuditAppender,
    private readonly metrics: Metrics,
  ) {}

  /**
   * Writes one event and waits for its commit. `defer` is for outcomes nothing waits on (recorded
   * after the answer has gone): the event rides in the next batch instead of starting its own, and
   * is not timed (its wait is by design).
   */
  async record<A extends AuditAction>(
    actor: AuditActor,
    e: AuditEntry<A>,
    opts?: { defer?: boolean },
  ): Promise<void> {
    const end = opts?.defer ? () => undefined : this.metrics.auditWriteDuration.startTimer();
    try {
      const { tenantId, details, ...rest } = e;
      // Two map lookups per event: cheap next to the commit it precedes, and it catches casts.
      assertCataloguedEvent(rest.action, details);
      const event: AppendedAuditEvent = rest;
      if (details) event.details = details as Record<string, AuditDetailValue>;
      if (tenantId) event.tenantId = tenantId;
      if (actor.principal) {
        event.actorTokenId = actor.principal.tokenId;
        event.actorRole = actor.principal.role;
      }
      if (actor.requestId) event.requestId = actor.requestId;
      if (actor.clientRequestId) event.clientRequestId = actor.clientRequestId;
      if (actor.clientAddress) event.clientAddress = actor.clientAddress;
      await this.appender.record(event, opts);
      end({ outcome: 'ok' });
    } catch (err) {
      end({ outcome: 'error' });
      throw err;
    }
  }
}
