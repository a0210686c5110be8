import { tenantRepository, tokenRepository, type Db, type TokenRow } from '@byok/store';
import { AppError } from '../../errors.js';
import type { AuditActor, AuditRecorder } from '../audit/audit-recorder.js';
import type { TenantEventReason } from '../tenants/tenant-events.js';
import { auditActionOf, isAllowed, issueAction, type Action } from './role-model.js';
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
  role: 'platform-admin' | 'tenant-admin' | 'service' | 'auditor';
  tenantId: string | null;
  /** The platform service a service token belongs to (defaults to the token's name). */
  service?: string | undefined;
  /** A service token for several tenants (instead of `tenantId`). */
  tenantIds?: string[] | undefined;
  /** A service token for every tenant (instead of `tenantId`). */
  allTenants?: boolean | undefined;
  expiresAt?: Date | undefined;
}

/**
 * The tenant id a platform-level token event is published under: no tenant has it (ids are
 * lower-case), and every instance forgets all verified tokens on any `tokens` event.
 */
export const PLATFORM_TOKENS_EVENT = '(platform)';

/** Issuing, listing, rotating and revoking bearer tokens, with the role table's rules and their audit trail. */
export class TokenAdminService {
  constructor(private readonly deps: TokenAdminDeps) {}

  /**
   * Issues a token when the role table lets the caller issue that kind for that tenant (a tenant
   * admin never issues service tokens). Never for a locked tenant. Denials are audited.
   */
  async issue(
    principal: Principal,
    input: IssueTokenInput,
    actor: AuditActor,
  ): Promise<{ row: TokenRow; token: string }> {
    const { tenantId } = input;
    const grants = input.allTenants ? 'all' : input.tenantIds;
    if (grants !== undefined) return this.issueShared(principal, input, grants, actor);
    if (tenantId === null && input.role !== 'auditor' && input.role !== 'platform-admin') {
      throw new AppError('VALIDATION_FAILED', `a ${input.role} token needs a tenantId`, {
        errors: [{ path: 'tenantId', message: 'required for this role' }],
      });
    }
    if (tenantId !== null && input.role === 'platform-admin') {
      throw new AppError('VALIDATION_FAILED', 'a platform-admin token has no tenant', {
        errors: [{ path: 'tenantId', message: 'not allowed for this role' }],
      });
    }
    if (input.expiresAt && input.expiresAt.getTime() <= Date.now()) {
      throw new AppError('VALIDATION_FAILED', 'expiresAt must be in the future', {
        errors: [{ path: 'expiresAt', message: 'in the past' }],
      });
    }
    await this.authorize(principal, issueAction({ role: input.role, tenantId }), tenantId, actor, 'tokens');
    await this.requireIssuableTenant(tenantId, actor);
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
      expiresAt: input.expiresAt ?? null,
      service: input.role === 'service' ? (input.service ?? serviceNameOf(input.name)) : null,
    });
  }

  /**
   * Issues one service token for a list of tenants or for all: each listed tenant must let the
   * caller issue service tokens for it and be neither locked nor deleted.
   */
  private async issueShared(
    principal: Principal,
    input: IssueTokenInput,
    grants: string[] | 'all',
    actor: AuditActor,
  ): Promise<{ row: TokenRow; token: string }> {
    const conflicting = input.tenantId !== null || (input.allTenants && input.tenantIds !== undefined);
    if (input.role !== 'service' || conflicting) {
      throw new AppError(
        'VALIDATION_FAILED',
        'tenantIds or allTenants: a service token, instead of tenantId',
        {
          errors: [
            {
              path: input.allTenants ? 'allTenants' : 'tenantIds',
              message: 'only one tenant scope, for a service token',
            },
          ],
        },
      );
    }
    const tenants = grants === 'all' ? [] : [...new Set(grants)];
    if (grants === 'all') await this.authorize(principal, 'token.create.service-all', null, actor, 'tokens');
    for (const t of tenants) await this.authorize(principal, 'token.create.service', t, actor, 'tokens');
    for (const t of tenants) await this.requireIssuableTenant(t, actor);
    await this.deps.audit.record(actor, {
      tenantId: null,
      action: 'token.create',
      outcome: 'success',
      resource: `tokens/service/${grants === 'all' ? '(all tenants)' : tenants.join(',')}`.slice(0, 1000),
      details: {
        newState: `service token issued for ${grants === 'all' ? 'all tenants' : `${tenants.length} tenants`}`,
      },
    });
    return this.deps.tokens.issue(this.deps.db, {
      name: input.name,
      role: 'service',
      tenantId: null,
      createdBy: principal.tokenId,
      expiresAt: input.expiresAt ?? null,
      service: input.service ?? serviceNameOf(input.name),
      tenantGrants: grants === 'all' ? null : tenants,
    });
  }

  /**
   * Rotates a token: a new token of the same kind now, the old one working until the overlap ends.
   * A token may rotate itself; otherwise the caller must be allowed to issue that kind of token.
   */
  async rotate(
    principal: Principal,
    tokenId: string,
    opts: { overlapSeconds: number; expiresAt?: Date | undefined },
    actor: AuditActor,
  ): Promise<{ row: TokenRow; token: string; previousExpiresAt: Date }> {
    const old = await tokenRepository.get(this.deps.db, tokenId);
    const live = old && !old.revokedAt && (!old.expiresAt || old.expiresAt.getTime() > Date.now());
    if (!old || !live) throw new AppError('NOT_FOUND', 'token not found');
    if (principal.tokenId !== old.id)
      await this.authorize(principal, issueAction(old), old.tenantId, actor, `tokens/${old.id}`);
    await this.requireIssuableTenant(old.tenantId, actor);
    for (const t of old.tenantGrants ?? []) await this.requireIssuableTenant(t, actor);
    const previousExpiresAt = new Date(Date.now() + opts.overlapSeconds * 1000);
    await this.deps.audit.record(actor, {
      tenantId: old.tenantId,
      action: 'token.rotate',
      outcome: 'success',
      resource: `tenants/${old.tenantId ?? '(platform)'}/tokens/${old.id}`,
      details: { newState: `old token ends in ${opts.overlapSeconds}s` },
    });
    const issued = await this.deps.tokens.issue(this.deps.db, {
      name: old.name,
      role: old.role,
      tenantId: old.tenantId,
      createdBy: principal.tokenId,
      expiresAt: opts.expiresAt ?? old.expiresAt,
      service: old.service,
      tenantGrants: old.tenantGrants,
    });
    await tokenRepository.expireBy(this.deps.db, old.id, previousExpiresAt);
    // Every instance forgets its verified tokens, so the old token's new end applies everywhere.
    await this.deps.publishTenantEvent(old.tenantId ?? PLATFORM_TOKENS_EVENT, 'tokens');
    return { ...issued, previousExpiresAt };
  }

  /** The tenant's tokens (metadata only). */
  list(tenantId: string): Promise<TokenRow[]> {
    return tokenRepository.listByTenant(this.deps.db, tenantId);
  }

  /** Platform-level tokens (platform admins, global auditors), metadata only. */
  listPlatform(): Promise<TokenRow[]> {
    return tokenRepository.listByTenant(this.deps.db, null);
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

  /**
   * Revokes a platform-level token on every instance; false when there is no such token. The last
   * live platform-admin token cannot be revoked (nobody could create tenants or tokens again).
   */
  async revokePlatform(tokenId: string, actor: AuditActor): Promise<boolean> {
    const row = await tokenRepository.get(this.deps.db, tokenId);
    if (!row || row.tenantId !== null) return false;
    if (row.role === 'platform-admin' && !row.revokedAt) {
      if ((await tokenRepository.countPlatformAdmins(this.deps.db)) <= 1)
        throw new AppError(
          'CONFLICT',
          'the last platform-admin token cannot be revoked; issue another first',
        );
    }
    await this.deps.audit.record(actor, {
      tenantId: null,
      action: 'token.revoke',
      outcome: 'success',
      resource: `tokens/${row.id}`,
    });
    await tokenRepository.revoke(this.deps.db, row.id);
    await this.deps.publishTenantEvent(PLATFORM_TOKENS_EVENT, 'tokens');
    return true;
  }

  private async authorize(
    principal: Principal,
    action: Action,
    tenantId: string | null,
    actor: AuditActor,
    resource: string,
  ): Promise<void> {
    if (isAllowed(principal, action, tenantId)) return;
    await this.deps.audit.record(actor, {
      tenantId: tenantId && (await tenantRepository.get(this.deps.db, tenantId)) ? tenantId : null,
      action: auditActionOf(action),
      outcome: 'denied',
      resource: `tenants/${tenantId ?? '(platform)'}/${resource}`,
      errorCode: 'FORBIDDEN',
    });
    throw new AppError('FORBIDDEN', `this token may not ${action} for ${tenantId ?? 'the platform'}`);
  }

  /** No token is issued for a tenant that does not exist, is deleted, or is locked. */
  private async requireIssuableTenant(tenantId: string | null, actor: AuditActor): Promise<void> {
    if (tenantId === null) return;
    const t = await tenantRepository.get(this.deps.db, tenantId);
    if (!t || t.state === 'deleted') throw new AppError('NOT_FOUND', `tenant ${tenantId} not found`);
    if (t.state === 'locked') {
      await this.deps.audit.record(actor, {
        tenantId,
        action: 'token.create',
        outcome: 'denied',
        resource: `tenants/${tenantId}/tokens`,
        errorCode: 'TENANT_LOCKED',
      });
      throw new AppError('TENANT_LOCKED', `tenant ${tenantId} is locked: no token is issued for it`);
    }
  }
}

/** A service name from a token name: lower case, only the characters a service name may hold. */
function serviceNameOf(name: string): string {
  const s = name
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, '-')
    .replace(/^[^a-z0-9]+/, '')
    .slice(0, 64);
  return s || 'service';
}
