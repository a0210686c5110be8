import {
  secretRepository,
  tenantKeyRepository,
  tenantRepository,
  tokenRepository,
  type Db,
} from '@byok/store';
import type { AuditActor, AuditRecorder } from '../audit/audit-recorder.js';
import type { TenantEventReason } from '../tenants/tenant-events.js';
import type { TokenService } from '../tokens/token-service.js';

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

  /** Lifts the kill switch. */
  async restore(tenantId: string, actor: AuditActor): Promise<void> {
    await this.setState(tenantId, actor, 'tenant.restore', 'active');
    await this.deps.publishTenantEvent(tenantId, 'restored');
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
