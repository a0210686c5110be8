import { createHmac } from 'node:crypto';
import { readEventsAfter, toExportedEvent, type ExportedEvent } from '@byok/audit';
import { auditSinkRepository, withTransaction, type Pool, type PoolClient } from '@byok/store';
import type { Logger } from '../../logger.js';
import type { JobTask } from '../jobs/job-runner.js';
import type { AuditSinkService } from './audit-sinks.js';

/** Options for {@link AuditDispatcher}. */
export interface AuditDispatcherOptions {
  pool: Pool;
  sinks: AuditSinkService;
  logger: Logger;
  /** How often due sinks are looked for. */
  pollMs: number;
  /** Deadline of one webhook POST. */
  timeoutMs: number;
  /** First retry delay; doubles per failed attempt (with jitter) up to `maxBackoffMs`. */
  backoffMs: number;
  maxBackoffMs: number;
  /** Sinks delivered in parallel by this instance (each holds one pool connection while posting). */
  concurrency?: number;
}

/** Signature header value of a webhook body: `sha256=<hex HMAC-SHA-256(secret, body)>`. */
export function signatureOf(secret: Uint8Array, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body, 'utf8').digest('hex')}`;
}

/**
 * Delivers each tenant's audit chain to its SIEM sinks. The outbox is the chain itself: a sink's
 * `last_delivered_seq` advances only after the receiver answered 2xx, so events committed while a
 * sink is down wait in audit_events and go out, in seq order, when it is back (at least once;
 * receivers de-duplicate on chain + seq). Requests never wait for this loop. A sink is claimed
 * (row-locked, skipping sinks locked elsewhere) for the duration of one POST, so several instances
 * never deliver the same sink at once.
 */
export class AuditDispatcher {
  constructor(private readonly o: AuditDispatcherOptions) {}

  /** The polling job for the runner: a round at start, then `pollMs` after each round. */
  task(): JobTask {
    return {
      name: 'audit-sink-dispatcher',
      schedule: { kind: 'poll', pollMs: this.o.pollMs },
      run: (signal) => this.tick(signal),
    };
  }

  /** One round: delivers every due sink until it is drained or fails. Returns batches delivered. */
  async tick(signal?: AbortSignal): Promise<number> {
    const done = new Set<string>();
    let delivered = 0;
    const worker = async () => {
      for (;;) {
        if (signal?.aborted) return;
        const r = await withTransaction(this.o.pool, (c) => this.deliverOne(c, [...done]));
        if (r === undefined) return;
        if (r.ok) delivered += r.batches;
        if (!r.ok || !r.more) done.add(r.id);
      }
    };
    await Promise.all(Array.from({ length: this.o.concurrency ?? 2 }, worker));
    return delivered;
  }

  private async deliverOne(
    c: PoolClient,
    skip: string[],
  ): Promise<{ id: string; ok: boolean; more: boolean; batches: number } | undefined> {
    const sink = await auditSinkRepository.claimDue(c, skip);
    if (!sink) return undefined;
    const rows = await readEventsAfter(c, sink.tenant_id, Number(sink.last_delivered_seq), sink.batch_size);
    if (rows.length === 0) return { id: sink.id, ok: true, more: false, batches: 0 };
    const events = rows.map(toExportedEvent);
    const first = (events[0] as ExportedEvent).seq;
    const last = (events[events.length - 1] as ExportedEvent).seq;
    const body = JSON.stringify({ sinkId: sink.id, tenantId: sink.tenant_id, chain: sink.tenant_id, events });
    let error: string | undefined;
    try {
      const secret = this.o.sinks.openSecret(sink);
      const res = await fetch(sink.url, {
        method: 'POST',
        body,
        redirect: 'manual',
        signal: AbortSignal.timeout(this.o.timeoutMs),
        headers: {
          'content-type': 'application/json',
          'x-byok-signature': signatureOf(secret, body),
          'x-byok-delivery': `${sink.tenant_id}:${first}-${last}`,
        },
      });
      secret.fill(0);
      await res.arrayBuffer().catch(() => undefined);
      if (res.status < 200 || res.status > 299) error = `HTTP ${res.status}`;
    } catch (err) {
      error = ((err as Error).name === 'TimeoutError' ? 'timeout' : (err as Error).message).slice(0, 200);
    }
    if (error === undefined) {
      await auditSinkRepository.markDelivered(c, sink.id, last);
      return { id: sink.id, ok: true, more: rows.length === sink.batch_size, batches: 1 };
    }
    const attempts = sink.attempts + 1;
    const base = Math.min(this.o.maxBackoffMs, this.o.backoffMs * 2 ** Math.min(attempts - 1, 20));
    const delayMs = Math.round(base / 2 + (Math.random() * base) / 2);
    await auditSinkRepository.markFailed(c, sink.id, attempts, error, delayMs);
    this.o.logger.warn(
      { sinkId: sink.id, tenantId: sink.tenant_id, attempts, error },
      'audit sink delivery failed; will retry',
    );
    return { id: sink.id, ok: false, more: false, batches: 0 };
  }
}
