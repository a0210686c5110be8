import type { KmsRegistry } from '@byok/kms';
import {
  tenantKeyRepository,
  tenantRepository,
  type Db,
  type TenantPolicy,
  type TenantRow,
} from '@byok/store';
import { AppError } from '../../errors.js';
import type { AuditActor, AuditRecorder } from '../audit/audit-recorder.js';
import { boundPurposes, type CmkManager } from '../keys/cmk-manager.js';
import { requireKnownProvider } from '../keys/cmk-policy.js';
import type { TenantEventReason } from './tenant-events.js';

/** What {@link TenantService} needs. */
export interface TenantServiceDeps {
  db: Db;
  audit: AuditRecorder;
  cmk: CmkManager;
  registry: Pick<KmsRegistry, 'has' | 'modules'>;
  /** Purges the tenant here and on every other instance. */
  publishTenantEvent: (tenantId: string, reason: TenantEventReason) => Promise<void>;
}

/** A stored tenant. */
export type TenantRecord = TenantRow;
/** A tenant's stored policy. */
export type TenantPolicyRecord = TenantPolicy;

/** A policy change as the API receives it (absent fields keep their value). */
export interface PolicyChange {
  cacheTtlSeconds?: number | undefined;
  allowedPurposes?: TenantPolicy['allowedPurposes'] | undefined;
  purposeInKmsContext?: boolean | undefined;
  restoreRequiresTwoAdmins?: boolean | undefined;
  aiSpikes?: TenantPolicy['aiSpikes'] | undefined;
}

/** The tenant's customer key as the API shows it. */
export interface CmkView {
  provider: string;
  keyRef: string;
  state: string;
  verifiedAt: string;
  lastCheckAt: string;
  lastError: string | null;
  tenantKeyVersion: number | null;
}

/** Tenants: creation, customer-key registration and view, policy. */
export class TenantService {
  constructor(private readonly deps: TenantServiceDeps) {}

  /** Creates a tenant (audited first); CONFLICT when the id is taken. */
  async create(input: { id: string; name: string }, actor: AuditActor): Promise<TenantRow> {
    if (await tenantRepository.get(this.deps.db, input.id))
      throw new AppError('CONFLICT', `tenant ${input.id} already exists`);
    await this.deps.audit.record(actor, {
      tenantId: null,
      action: 'tenant.create',
      outcome: 'success',
      resource: `tenants/${input.id}`,
    });
    return tenantRepository.create(this.deps.db, input);
  }

  /** Registers or changes the customer key (wrap and unwrap proven first) and tells every instance. */
  async registerCmk(tenantId: string, provider: string, keyRef: string, actor: AuditActor): Promise<CmkView> {
    requireKnownProvider(this.deps.registry.modules, provider);
    if (!this.deps.registry.has(provider)) {
      throw new AppError('CMK_VERIFICATION_FAILED', `provider ${provider} is not enabled on this service`);
    }
    await this.deps.cmk.registerCmk(tenantId, provider, keyRef, actor);
    await this.deps.publishTenantEvent(tenantId, 'cmk');
    return this.cmk(tenantId);
  }

  /** The tenant as stored now (no cache), or undefined. */
  get(tenantId: string): Promise<TenantRow | undefined> {
    return tenantRepository.get(this.deps.db, tenantId);
  }

  /** The tenant's customer key with its current tenant-key version; NOT_FOUND when none. */
  async cmk(tenantId: string): Promise<CmkView> {
    const cmk = await tenantRepository.getCmk(this.deps.db, tenantId);
    if (!cmk) throw new AppError('NOT_FOUND', `tenant ${tenantId} has no customer key`);
    const current = await tenantKeyRepository.current(this.deps.db, tenantId);
    return {
      provider: cmk.provider,
      keyRef: cmk.keyRef,
      state: cmk.state,
      verifiedAt: cmk.verifiedAt.toISOString(),
      lastCheckAt: cmk.lastCheckAt.toISOString(),
      lastError: cmk.lastError,
      tenantKeyVersion: current?.version ?? null,
    };
  }

  /**
   * Applies a policy change. Purpose binding needs strict mode and a purpose list; the purpose-bound
   * key copies are made (each wrap proven) before the policy that needs them is stored, and a
   * shorter cache window takes effect on every instance now, not when old entries expire.
   */
  async updatePolicy(tenant: TenantRow, change: PolicyChange, actor: AuditActor): Promise<TenantRow> {
    const policy: TenantPolicy = { ...tenant.policy };
    if (change.allowedPurposes !== undefined) policy.allowedPurposes = change.allowedPurposes;
    if (change.purposeInKmsContext !== undefined) policy.purposeInKmsContext = change.purposeInKmsContext;
    if (change.restoreRequiresTwoAdmins !== undefined)
      policy.restoreRequiresTwoAdmins = change.restoreRequiresTwoAdmins;
    if (change.aiSpikes !== undefined) policy.aiSpikes = change.aiSpikes;
    const ttl = change.cacheTtlSeconds ?? tenant.cacheTtlSeconds;
    const purposes = boundPurposes(policy);
    if (policy.purposeInKmsContext && (ttl !== 0 || purposes.length === 0)) {
      throw new AppError('VALIDATION_FAILED', 'purposeInKmsContext needs strict mode and a purpose list', {
        errors: [
          {
            path: 'purposeInKmsContext',
            message: 'requires cacheTtlSeconds 0 and at least one allowed purpose',
          },
        ],
      });
    }
    await this.deps.audit.record(actor, {
      tenantId: tenant.id,
      action: 'policy.update',
      outcome: 'success',
      resource: `tenants/${tenant.id}/policy`,
      details: { cacheTtlSeconds: ttl },
    });
    if (purposes.length > 0 || tenant.policy.purposeInKmsContext) {
      await this.deps.cmk.preparePurposeWraps(tenant.id, purposes, actor);
    }
    const updated = await tenantRepository.setPolicy(this.deps.db, tenant.id, ttl, policy);
    if (!updated) throw new AppError('NOT_FOUND', `tenant ${tenant.id} not found`);
    await this.deps.publishTenantEvent(tenant.id, 'policy');
    return updated;
  }
}
