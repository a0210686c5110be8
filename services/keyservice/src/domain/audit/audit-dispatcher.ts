import { createHmac } from 'node:crypto';
import { readEventsAfter, toExportedEvent, type ExportedEvent } from '@byok/audit';
import type { EgressGuard } from '@byok/egress';
import { auditSinkRepository, type AuditSinkRow, type Pool } from '@byok/store';
import type { Logger } from '../../logger.js';
import type { JobTask } from '../jobs/job-runner.js';
import type { AuditSinkService } from './audit-sinks.js';

/** Most response body bytes read from a sink; the rest is never read. */
export const SINK_MAX_RESPONSE_BYTES = 64 * 1024;

/** Options for {@link AuditDispatcher}. */
export interface AuditDispatcherOptions {
  pool: Pool;
  sinks: AuditSinkService;
  logger: Logger;
  /** Every sink connection goes through it (no private addresses, pinned DNS, capped body). */
  egress: EgressGuard;
  /** How often due sinks are looked for. */
  pollMs: number;
  /** Deadline of one webhook POST. */
  timeoutMs: number;
  /** First retry delay; doubles per failed attempt (with jitter) up to `maxBackoffMs`. */
  backoffMs: number;
  maxBackoffMs: number;
  /** Tenants delivered in parallel by this instance (no pool connection is held while posting). */
  concurrency?: number;
}

/** Signature header value of a webhook body: `sha256=<hex HMAC-SHA-256(secret, body)>`. */
export function signatureOf(secret: Uint8Array, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body, 'utf8').digest('hex')}`;
}

type Outcome = { ok: boolean; more: boolean; batches: number };

/**
 * Delivers each tenant's audit chain to its SIEM sinks. The outbox is the chain itself: a sink's
 * `last_delivered_seq` advances only after the receiver answered 2xx, so events committed while a
 * sink is down wait in audit_events and go out, in seq order, when it is back (at least once;
 * receivers de-duplicate on chain + seq). A sink is leased (its next attempt moved past the
 * deadline) in one short statement, the connection goes back to the pool, the POST runs, and the
 * outcome is recorded in another statement: no connection or lock is held while a sink answers.
 * Tenants are delivered independently, so one tenant's hanging sink delays only that tenant.
 */
export class AuditDispatcher {
  private readonly inFlight = new Set<string>();

  constructor(private readonly o: AuditDispatcherOptions) {}

  /** The polling job: each round starts deliveries for idle tenants and does not wait for them. */
  task(): JobTask {
    return {
      name: 'audit-sink-dispatcher',
      schedule: { kind: 'poll', pollMs: this.o.pollMs },
      run: async (signal) => {
        void this.tick(signal).catch((err: unknown) =>
          this.o.logger.warn({ err }, 'audit sink dispatch round failed'),
        );
      },
    };
  }

  /** One round: delivers every due sink until it is drained or fails. Returns batches delivered. */
  async tick(signal?: AbortSignal): Promise<number> {
    const done = new Set<string>();
    let delivered = 0;
    const limit = this.o.concurrency ?? 8;
    for (;;) {
      if (signal?.aborted) break;
      const room = limit - this.inFlight.size;
      if (room <= 0) break;
      const leased = await auditSinkRepository.leaseDue(
        this.o.pool,
        [...this.inFlight],
        [...done],
        room,
        this.o.timeoutMs + 5000,
      );
      if (leased.length === 0) break;
      const results = await Promise.all(
        leased.map(async (sink) => {
          this.inFlight.add(sink.tenant_id);
          try {
            return { sink, r: await this.deliverOne(sink, signal) };
          } finally {
            this.inFlight.delete(sink.tenant_id);
          }
        }),
      );
      for (const { sink, r } of results) {
        if (r.ok) delivered += r.batches;
        if (!r.ok || !r.more) done.add(sink.id);
      }
    }
    return delivered;
  }

  private async deliverOne(sink: AuditSinkRow, signal?: AbortSignal): Promise<Outcome> {
    const rows = await readEventsAfter(
      this.o.pool,
      sink.tenant_id,
      Number(sink.last_delivered_seq),
      sink.batch_size,
    );
    if (rows.length === 0) {
      await auditSinkRepository.releaseLease(this.o.pool, sink.id);
      return { ok: true, more: false, batches: 0 };
    }
    const events = rows.map(toExportedEvent);
    const first = (events[0] as ExportedEvent).seq;
    const last = (events[events.length - 1] as ExportedEvent).seq;
    const body = JSON.stringify({ sinkId: sink.id, tenantId: sink.tenant_id, chain: sink.tenant_id, events });
    let error: string | undefined;
    try {
      const secret = this.o.sinks.openSecret(sink);
      const signature = signatureOf(secret, body);
      secret.fill(0);
      const res = await this.o.egress.request(sink.url, {
        method: 'POST',
        body,
        timeoutMs: this.o.timeoutMs,
        maxBodyBytes: SINK_MAX_RESPONSE_BYTES,
        ...(signal ? { signal } : {}),
        headers: {
          'content-type': 'application/json',
          'x-byok-signature': signature,
          'x-byok-delivery': `${sink.tenant_id}:${first}-${last}`,
        },
      });
      if (res.status < 200 || res.status > 299) error = `HTTP ${res.status}`;
    } catch (err) {
      const e = err as Error;
      error = (e.name === 'TimeoutError' ? 'timeout' : e.message).slice(0, 200);
    }
    if (error === undefined) {
      await auditSinkRepository.markDelivered(this.o.pool, sink.id, last);
      return { ok: true, more: rows.length === sink.batch_size, batches: 1 };
    }
    const attempts = sink.attempts + 1;
    const base = Math.min(this.o.maxBackoffMs, this.o.backoffMs * 2 ** Math.min(attempts - 1, 20));
    const delayMs = Math.round(base / 2 + (Math.random() * base) / 2);
    await auditSinkRepository.markFailed(this.o.pool, sink.id, attempts, error, delayMs);
    this.o.logger.warn(
      { sinkId: sink.id, tenantId: sink.tenant_id, attempts, error },
      'audit sink delivery failed; will retry',
    );
    return { ok: false, more: false, batches: 0 };
  }
}
