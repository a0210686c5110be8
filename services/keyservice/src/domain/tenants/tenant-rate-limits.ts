import { tenantRepository, type Db, type TenantRateLimit } from '@byok/store';
import { AppError } from '../../errors.js';
import type { AuditActor, AuditRecorder } from '../audit/audit-recorder.js';
import type { TenantEventReason } from './tenant-events.js';

/** What {@link TenantRateLimits} needs. */
export interface TenantRateLimitsDeps {
  db: Db;
  audit: AuditRecorder;
  /** Re-reads the tenant here and on every other instance (LISTEN/NOTIFY). */
  publishTenantEvent: (tenantId: string, reason: TenantEventReason) => Promise<void>;
}

/**
 * The platform admin's per-tenant rate-limit overrides: stored on the tenant row, audited before
 * the change, and announced to every instance, whose per-tenant limiter reads the tenant's view.
 */
export class TenantRateLimits {
  constructor(private readonly deps: TenantRateLimitsDeps) {}

  /** Sets (`limit`) or clears (null) the tenant's override; returns the stored one. */
  async set(
    tenantId: string,
    limit: TenantRateLimit | null,
    actor: AuditActor,
  ): Promise<TenantRateLimit | null> {
    await this.deps.audit.record(actor, {
      tenantId,
      action: 'tenant.rate-limit.set',
      outcome: 'success',
      resource: `tenants/${tenantId}/rate-limit`,
      // rps may be a fraction and audit numbers are integers (hash-stable): it is kept as text.
      details: limit
        ? { rps: String(limit.rps), burst: limit.burst, newState: 'override' }
        : { newState: 'default' },
    });
    const updated = await tenantRepository.setRateLimit(this.deps.db, tenantId, limit);
    if (!updated) throw new AppError('NOT_FOUND', `tenant ${tenantId} not found`);
    await this.deps.publishTenantEvent(tenantId, 'rate-limit');
    return updated.rateLimit;
  }
}
