import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import type { Logger } from '../../logger.js';

/** PostgreSQL channel that carries tenant purges between instances. */
export const TENANT_EVENTS_CHANNEL = 'byok_tenant_events';

/** Why a tenant's cached keys must go. */
export type TenantEventReason =
  | 'revoked'
  | 'locked'
  | 'restored'
  | 'policy'
  | 'cmk'
  | 'deleted'
  | 'rotated'
  /** A token of the tenant was revoked: forget verified tokens everywhere. */
  | 'tokens';

/** A notification as sent on the channel. */
export interface TenantEvent {
  tenantId: string;
  reason: TenantEventReason;
  origin: string;
}

/** Options for {@link TenantEvents}. */
export interface TenantEventsOptions {
  /** Connection for LISTEN (a dedicated client, not from the pool); absent = single instance. */
  databaseUrl?: string;
  /** Pool used to NOTIFY. */
  notify: (payload: string) => Promise<void>;
  instanceId: string;
  logger: Logger;
  /** Purge one tenant on this instance. */
  onTenant: (e: TenantEvent) => void;
  /** Purge everything: called on every (re)connect, since notifications may have been missed. */
  onResync: () => void;
}

/**
 * Cross-instance cache invalidation over PostgreSQL LISTEN/NOTIFY. The listener reconnects with
 * backoff after any connection loss, and purges everything each time it (re)connects, because
 * notifications sent while it was away are gone.
 */
export class TenantEvents {
  private client: pg.Client | undefined;
  private stopped = false;
  private loop: Promise<void> | undefined;
  private connectedOnce: (() => void) | undefined;

  constructor(private readonly o: TenantEventsOptions) {}

  /** Starts listening; resolves once the first LISTEN is in place (or at once without a database URL). */
  async start(): Promise<void> {
    if (!this.o.databaseUrl) return;
    const ready = new Promise<void>((resolve) => (this.connectedOnce = resolve));
    this.loop = this.run(this.o.databaseUrl);
    await Promise.race([ready, sleep(10_000)]);
  }

  /** Tells every instance (this one included) to purge `tenantId`. Applies locally first. */
  async publish(tenantId: string, reason: TenantEventReason): Promise<void> {
    const event: TenantEvent = { tenantId, reason, origin: this.o.instanceId };
    this.o.onTenant(event);
    try {
      await this.o.notify(JSON.stringify(event));
    } catch (err) {
      // The local purge happened; other instances still converge by their own cache expiry and probes.
      this.o.logger.warn(
        { tenantId, reason, err: (err as Error).message },
        'could not notify other instances',
      );
    }
  }

  /** Stops listening. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.client?.end().catch(() => undefined);
    await this.loop?.catch(() => undefined);
  }

  private async run(url: string): Promise<void> {
    let delay = 100;
    while (!this.stopped) {
      const client = new pg.Client({ connectionString: url, keepAlive: true });
      this.client = client;
      const lost = new Promise<void>((resolve) => {
        client.once('error', () => resolve());
        client.once('end', () => resolve());
      });
      try {
        await client.connect();
        client.on('notification', (msg) => this.handle(msg.payload));
        await client.query(`LISTEN ${TENANT_EVENTS_CHANNEL}`);
        this.o.onResync();
        this.o.logger.info({ instance: this.o.instanceId }, 'listening for tenant events');
        this.connectedOnce?.();
        delay = 100;
        await lost;
        if (!this.stopped) this.o.logger.warn('tenant event listener lost its connection; reconnecting');
      } catch (err) {
        if (!this.stopped)
          this.o.logger.warn(
            { err: (err as Error).message },
            'tenant event listener cannot connect; retrying',
          );
      } finally {
        await client.end().catch(() => undefined);
      }
      if (this.stopped) return;
      // Purge now, not only at reconnect: while disconnected this instance cannot hear revocations.
      this.o.onResync();
      await sleep(delay + Math.random() * delay);
      delay = Math.min(delay * 2, 5000);
    }
  }

  private handle(payload: string | undefined): void {
    try {
      const e = JSON.parse(payload ?? '') as Partial<TenantEvent>;
      if (typeof e.tenantId !== 'string' || typeof e.reason !== 'string') return;
      if (e.origin === this.o.instanceId) return;
      this.o.onTenant({
        tenantId: e.tenantId,
        reason: e.reason as TenantEventReason,
        origin: String(e.origin),
      });
    } catch {
      this.o.logger.warn('ignored a malformed tenant event');
    }
  }
}
