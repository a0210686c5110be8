import {
  secretRepository,
  tenantKeyRepository,
  tenantRepository,
  tokenRepository,
  type Db,
} from '@byok/store';
import type { AuditActor, AuditRecorder } from '../audit/audit-recorder.js';
import type { TenantRow } from '@byok/store';
import type { TenantEventReason } from '../tenants/tenant-events.js';
import type { TokenService } from '../tokens/token-service.js';

/** How long the first half of a two-admin restore waits for the second tenant admin. */
export const RESTORE_CONFIRM_MS = 10 * 60 * 1000;

/** What {@link TenantLifecycleService} needs. */
export interface TenantLifecycleDeps {
  db: Db;
  withTransaction: <T>(fn: (db: Db) => Promise<T>) => Promise<T>;
  audit: AuditRecorder;
  tokens: TokenService;
  /** Purges the tenant here and on every other instance. */
  publishTenantEvent: (tenantId: string, reason: TenantEventReason) => Promise<void>;
}

/** The kill switch (lock, restore) and offboarding by crypto-shredding. Each change is audited first. */
export class TenantLifecycleService {
  constructor(private readonly deps: TenantLifecycleDeps) {}

  /** Locks the tenant: every instance answers TENANT_LOCKED once the event reaches it. */
  async lock(tenantId: string, actor: AuditActor): Promise<void> {
    await this.setState(tenantId, actor, 'tenant.lock', 'locked');
    await this.deps.publishTenantEvent(tenantId, 'locked');
  }

  /**
   * Lifts the kill switch. With the tenant's `restoreRequiresTwoAdmins`, the first tenant-admin
   * token only opens a request; a different tenant-admin token must confirm it within
   * {@link RESTORE_CONFIRM_MS}. Answers what happened.
   */
  async restore(
    tenant: TenantRow,
    actor: AuditActor,
  ): Promise<{ state: 'active' } | { state: 'pending'; confirmBefore: Date }> {
    const tokenId = actor.principal?.tokenId ?? '';
    if (tenant.policy.restoreRequiresTwoAdmins && tenant.state === 'locked') {
      const pending = tenant.restoreRequest;
      const live = pending && pending.at.getTime() + RESTORE_CONFIRM_MS > Date.now();
      if (!live || pending.tokenId === tokenId) {
        // The same token asking twice restarts the window; it never counts as the second admin.
        await this.record(tenant.id, actor, 'tenant.restore', 'restore pending');
        await tenantRepository.requestRestore(this.deps.db, tenant.id, tokenId);
        await this.deps.publishTenantEvent(tenant.id, 'policy');
        return { state: 'pending', confirmBefore: new Date(Date.now() + RESTORE_CONFIRM_MS) };
      }
    }
    await this.setState(tenant.id, actor, 'tenant.restore', 'active');
    await this.deps.publishTenantEvent(tenant.id, 'restored');
    return { state: 'active' };
  }

  /** Suspends (or lifts the suspension of) a named service's access to the tenant, on every instance. */
  async setServiceSuspended(
    tenantId: string,
    service: string,
    suspended: boolean,
    actor: AuditActor,
  ): Promise<void> {
    await this.deps.audit.record(actor, {
      tenantId,
      action: 'service.suspend',
      outcome: 'success',
      resource: `tenants/${tenantId}/services/${service}`,
      details: { newState: suspended ? 'suspended' : 'resumed' },
    });
    await tenantRepository.setServiceSuspended(this.deps.db, tenantId, service, suspended);
    await this.deps.publishTenantEvent(tenantId, 'policy');
  }

  /**
   * Crypto-shreds the tenant: without its wrapped tenant keys no ciphertext of this tenant can
   * ever be opened again, even by someone holding the CMK. Secrets and tokens go in the same
   * transaction; audit events stay. Returns how many tenant keys were destroyed.
   */
  async delete(tenantId: string, actor: AuditActor): Promise<number> {
    await this.record(tenantId, actor, 'tenant.delete', 'deleted');
    const destroyed = await this.deps.withTransaction(async (tx) => {
      const n = await tenantKeyRepository.destroyAll(tx, tenantId);
      await secretRepository.deleteAllForTenant(tx, tenantId);
      await tokenRepository.revokeAllForTenant(tx, tenantId);
      await tenantRepository.setState(tx, tenantId, 'deleted');
      return n;
    });
    this.deps.tokens.forgetAll();
    await this.deps.publishTenantEvent(tenantId, 'deleted');
    return destroyed;
  }

  private async setState(
    tenantId: string,
    actor: AuditActor,
    action: 'tenant.lock' | 'tenant.restore',
    state: 'locked' | 'active',
  ): Promise<void> {
    await this.record(tenantId, actor, action, state);
    await tenantRepository.setState(this.deps.db, tenantId, state);
  }

  private record(
    tenantId: string,
    actor: AuditActor,
    action: 'tenant.lock' | 'tenant.restore' | 'tenant.delete',
    newState: string,
  ): Promise<void> {
    return this.deps.audit.record(actor, {
      tenantId,
      action,
      outcome: 'success',
      resource: `tenants/${tenantId}`,
      details: { newState },
    });
  }
}
