import { listenChannel, notifyChannel, type ChannelListener, type Queryable } from '@byok/store';
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
  | 'tokens'
  /** The platform admin changed the tenant's rate limit: re-read the tenant, keep its keys. */
  | 'rate-limit'
  /** A secret's current version or AI state changed, or it was deleted: drop cached rows, keep keys. */
  | 'secrets'
  /** An AI spend cap was set or removed: forget which scopes are capped, keep keys. */
  | 'ai-caps';

/** A notification as sent on the channel. */
export interface TenantEvent {
  tenantId: string;
  reason: TenantEventReason;
  origin: string;
}

/** Options for {@link TenantEvents}. */
export interface TenantEventsOptions {
  /** Server to LISTEN on (the store opens a dedicated connection); absent = single instance. */
  listenUrl?: string;
  /** Pool used to NOTIFY. */
  db: Queryable;
  instanceId: string;
  logger: Logger;
  /** Purge one tenant on this instance. */
  onTenant: (e: TenantEvent) => void;
  /** Purge everything: called on every (re)connect, since notifications may have been missed. */
  onResync: () => void;
}

/**
 * Cross-instance cache invalidation over PostgreSQL LISTEN/NOTIFY. The store's channel listener
 * reconnects with backoff after any connection loss, and this purges everything each time it
 * (re)connects or loses the connection, because notifications sent while it was away are gone.
 */
export class TenantEvents {
  private listener: ChannelListener | undefined;

  constructor(private readonly o: TenantEventsOptions) {}

  /** Starts listening; resolves once the first LISTEN is in place (or at once without a listen URL). */
  async start(): Promise<void> {
    if (!this.o.listenUrl) return;
    this.listener = await listenChannel({
      databaseUrl: this.o.listenUrl,
      channel: TENANT_EVENTS_CHANNEL,
      onNotification: (payload) => this.handle(payload),
      onResync: this.o.onResync,
      logger: this.o.logger,
    });
  }

  /** Tells every instance (this one included) to purge `tenantId`. Applies locally first. */
  async publish(tenantId: string, reason: TenantEventReason): Promise<void> {
    const event: TenantEvent = { tenantId, reason, origin: this.o.instanceId };
    this.o.onTenant(event);
    try {
      await notifyChannel(this.o.db, TENANT_EVENTS_CHANNEL, JSON.stringify(event));
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
    await this.listener?.stop();
  }

  private handle(payload: string): void {
    try {
      const e = JSON.parse(payload) as Partial<TenantEvent>;
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
