import { tenantRepository, tokenRepository, type Db, type TokenRow } from '@byok/store';
import { AppError } from '../../errors.js';
import type { AuditActor, AuditRecorder } from '../audit/audit-recorder.js';
import type { TenantEventReason } from '../tenants/tenant-events.js';
import type { Principal, TokenService } from './token-service.js';

/** What {@link TokenAdminService} needs. */
export interface TokenAdminDeps {
  db: Db;
  audit: AuditRecorder;
  tokens: TokenService;
  /** Makes every instance forget its verified tokens. */
  publishTenantEvent: (tenantId: string, reason: TenantEventReason) => Promise<void>;
}

/** A stored token's metadata (its hash never leaves the store). */
export type TokenRecord = TokenRow;

/** A token request as the API receives it. */
export interface IssueTokenInput {
  name: string;
  role: 'tenant-admin' | 'service' | 'auditor';
  tenantId: string | null;
}

/** Issuing, listing and revoking bearer tokens, with the issuing rules and their audit trail. */
export class TokenAdminService {
  constructor(private readonly deps: TokenAdminDeps) {}

  /**
   * Issues a token. Platform admins issue for any tenant; a tenant admin only for its own tenant
   * (denials are audited). Only an auditor token may have no tenant.
   */
  async issue(
    principal: Principal,
    input: IssueTokenInput,
    actor: AuditActor,
  ): Promise<{ row: TokenRow; token: string }> {
    const { tenantId } = input;
    const allowed =
      principal.role === 'platform-admin' ||
      (principal.role === 'tenant-admin' && tenantId !== null && tenantId === principal.tenantId);
    if (!allowed) {
      await this.deps.audit.record(actor, {
        tenantId: tenantId && (await tenantRepository.get(this.deps.db, tenantId)) ? tenantId : null,
        action: 'token.create',
        outcome: 'denied',
        resource: `tenants/${tenantId ?? '(none)'}/tokens`,
        errorCode: 'FORBIDDEN',
      });
      throw new AppError('FORBIDDEN', 'this token may not issue tokens for that tenant');
    }
    if (tenantId === null && input.role !== 'auditor') {
      throw new AppError('VALIDATION_FAILED', `a ${input.role} token needs a tenantId`, {
        errors: [{ path: 'tenantId', message: 'required for this role' }],
      });
    }
    if (tenantId !== null) {
      const t = await tenantRepository.get(this.deps.db, tenantId);
      if (!t || t.state === 'deleted') throw new AppError('NOT_FOUND', `tenant ${tenantId} not found`);
    }
    await this.deps.audit.record(actor, {
      tenantId,
      action: 'token.create',
      outcome: 'success',
      resource: `tenants/${tenantId ?? '(platform)'}/tokens`,
      details: { newState: `${input.role} token issued` },
    });
    return this.deps.tokens.issue(this.deps.db, {
      name: input.name,
      role: input.role,
      tenantId,
      createdBy: principal.tokenId,
    });
  }

  /** The tenant's tokens (metadata only). */
  list(tenantId: string): Promise<TokenRow[]> {
    return tokenRepository.listByTenant(this.deps.db, tenantId);
  }

  /** Revokes a token of the tenant on every instance; false when the tenant has no such token. */
  async revoke(tenantId: string, tokenId: string, actor: AuditActor): Promise<boolean> {
    const row = await tokenRepository.get(this.deps.db, tokenId);
    if (!row || row.tenantId !== tenantId) return false;
    await this.deps.audit.record(actor, {
      tenantId,
      action: 'token.revoke',
      outcome: 'success',
      resource: `tenants/${tenantId}/tokens/${row.id}`,
    });
    await tokenRepository.revoke(this.deps.db, row.id);
    // Every instance forgets its verified tokens now, not after TOKEN_CACHE_SECONDS.
    await this.deps.publishTenantEvent(tenantId, 'tokens');
    return true;
  }
}
