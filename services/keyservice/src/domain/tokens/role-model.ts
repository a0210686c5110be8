import type { AuditAction } from '@byok/audit';
import type { TokenRole } from '@byok/store';

/** The roles a token can hold, in the order the README table shows them. */
export const ROLES = [
  'platform-admin',
  'tenant-admin',
  'service',
  'auditor',
] as const satisfies readonly TokenRole[];

/** Where an action applies: to the platform (no tenant) or to one tenant. */
export type ActionScope = 'platform' | 'tenant';

interface ActionRule {
  scope: ActionScope;
  /** What the action is, as the README table says it. */
  label: string;
  /** Roles allowed; tenant-scoped roles only on the tenants their token is for. */
  allowed: readonly TokenRole[];
}

const PA = 'platform-admin';
const TA = 'tenant-admin';
const SVC = 'service';
const AUD = 'auditor';

/**
 * THE role table: every action a route can ask permission for, and who may do it. Separation of
 * duties: a platform admin runs the platform but never uses a tenant's keys or secrets, nor sets
 * its customer key or policy; a tenant admin governs its tenant but never sees plaintext and cannot
 * mint the service tokens that could; a service uses keys and secrets; an auditor reads audit.
 * The README table and the HTTP matrix test are generated from this object.
 */
export const ROLE_TABLE = {
  'tenant.create': { scope: 'platform', label: 'create a tenant', allowed: [PA] },
  'token.create.platform-admin': { scope: 'platform', label: 'issue a platform-admin token', allowed: [PA] },
  'token.create.service-all': {
    scope: 'platform',
    label: 'issue a service token for all tenants',
    allowed: [PA],
  },
  'token.create.global-auditor': {
    scope: 'platform',
    label: 'issue an auditor token for all tenants',
    allowed: [PA],
  },
  'token.platform.read': { scope: 'platform', label: 'list platform-level tokens', allowed: [PA] },
  'token.platform.revoke': { scope: 'platform', label: 'revoke a platform-level token', allowed: [PA] },
  'dev.local-kms': { scope: 'platform', label: 'manage development KMS keys (dev mode)', allowed: [PA] },
  'tenant.read': { scope: 'tenant', label: 'read the tenant', allowed: [PA, TA, SVC, AUD] },
  'tenant.lock': { scope: 'tenant', label: 'lock the tenant (kill switch)', allowed: [PA, TA] },
  'tenant.restore': { scope: 'tenant', label: 'restore a locked tenant', allowed: [TA] },
  'tenant.delete': { scope: 'tenant', label: 'offboard the tenant (crypto-shred)', allowed: [PA] },
  'cmk.read': { scope: 'tenant', label: 'read the CMK, key versions, jobs', allowed: [PA, TA] },
  'cmk.write': { scope: 'tenant', label: 'set or change the CMK, rotate tenant keys', allowed: [TA] },
  'policy.read': { scope: 'tenant', label: 'read the tenant policy', allowed: [PA, TA] },
  'policy.write': { scope: 'tenant', label: 'change the tenant policy, audit sinks', allowed: [TA] },
  'token.create.tenant-admin': { scope: 'tenant', label: 'issue a tenant-admin token', allowed: [PA, TA] },
  'token.create.service': { scope: 'tenant', label: 'issue a service token', allowed: [PA] },
  'token.create.auditor': {
    scope: 'tenant',
    label: 'issue an auditor token for the tenant',
    allowed: [PA, TA],
  },
  'token.read': { scope: 'tenant', label: "list the tenant's tokens", allowed: [PA, TA] },
  'token.revoke': { scope: 'tenant', label: 'revoke a token that can act on the tenant', allowed: [PA, TA] },
  'service.suspend': { scope: 'tenant', label: "suspend or resume a service's access", allowed: [TA] },
  encrypt: { scope: 'tenant', label: 'encrypt', allowed: [SVC] },
  decrypt: { scope: 'tenant', label: 'decrypt', allowed: [SVC] },
  'secret.list': { scope: 'tenant', label: 'list secrets (metadata)', allowed: [TA, SVC] },
  'secret.write': { scope: 'tenant', label: 'store a secret', allowed: [TA, SVC] },
  'secret.reveal': { scope: 'tenant', label: 'reveal a secret', allowed: [SVC] },
  'secret.delete': { scope: 'tenant', label: 'delete a secret', allowed: [TA, SVC] },
  'ai.use': { scope: 'tenant', label: "call an AI provider with the tenant's key (gateway)", allowed: [SVC] },
  'audit.read': { scope: 'tenant', label: "read the tenant's audit log", allowed: [PA, TA, AUD] },
  'tenant.rate-limit.read': { scope: 'tenant', label: "read the tenant's rate limit", allowed: [PA, TA] },
  'tenant.rate-limit.set': {
    scope: 'tenant',
    label: "set or clear the tenant's rate-limit override",
    allowed: [PA],
  },
  'ai.usage.read': { scope: 'tenant', label: 'read AI usage and costs', allowed: [PA, TA] },
  'ai.budget.read': { scope: 'tenant', label: 'read AI spend caps', allowed: [PA, TA] },
  'ai.budget.write': { scope: 'tenant', label: 'set or remove AI spend caps', allowed: [TA] },
} as const satisfies Record<string, ActionRule>;

/** Every operation a route can ask permission for. */
export type Action = keyof typeof ROLE_TABLE;

/** Every action of the table, in table order. */
export const ACTIONS = Object.keys(ROLE_TABLE) as Action[];

/** Who is asking: the parts of a principal the role model looks at. */
export interface RoleSubject {
  role: TokenRole;
  /** The tenant a tenant-scoped token is for; null for platform admins and global auditors. */
  tenantId: string | null;
  /** A multi-tenant service token's tenants (a list, or all); absent for every other token. */
  grants?: readonly string[] | 'all' | undefined;
}

/** True when the table gives `role` the action at all (before tenant scoping). */
export function roleMay(role: TokenRole, action: Action): boolean {
  return (ROLE_TABLE[action].allowed as readonly TokenRole[]).includes(role);
}

/**
 * The table plus the tenant scoping rules: a platform admin acts on any tenant (for what the table
 * allows it); a tenant admin only on its own tenant; a service on its tenant or the tenants it
 * was granted (a list, or all); an auditor on its tenant, or
 * on every tenant when it was issued without one (a global auditor). Platform actions need a
 * principal with no tenant.
 */
export function isAllowed(p: RoleSubject, action: Action, tenantId: string | null): boolean {
  if (!roleMay(p.role, action)) return false;
  if (ROLE_TABLE[action].scope === 'platform') return p.tenantId === null && p.grants === undefined;
  if (tenantId === null) return false;
  if (p.role === 'platform-admin') return true;
  if (p.role === 'auditor' && p.tenantId === null) return true;
  // One token per platform service: granted a list of tenants or all, never more.
  if (p.role === 'service' && p.grants !== undefined)
    return p.grants === 'all' || p.grants.includes(tenantId);
  return p.tenantId === tenantId;
}

/** The README's role table (markdown), rendered from {@link ROLE_TABLE}. */
export function renderRoleTable(): string {
  const head = `| Action | Scope | ${ROLES.join(' | ')} |`;
  const rule = `| --- | --- | ${ROLES.map(() => ':-:').join(' | ')} |`;
  const rows = ACTIONS.map((a) => {
    const r = ROLE_TABLE[a];
    const cells = ROLES.map((role) => (roleMay(role, a) ? 'yes' : '—'));
    return `| ${r.label} (\`${a}\`) | ${r.scope} | ${cells.join(' | ')} |`;
  });
  return [head, rule, ...rows].join('\n');
}

/** The permission to issue (or rotate) a token of this kind. */
export function issueAction(t: { role: TokenRole; tenantId: string | null }): Action {
  if (t.role === 'platform-admin') return 'token.create.platform-admin';
  if (t.role === 'auditor')
    return t.tenantId === null ? 'token.create.global-auditor' : 'token.create.auditor';
  if (t.role === 'service') return t.tenantId === null ? 'token.create.service-all' : 'token.create.service';
  return 'token.create.tenant-admin';
}

/** The audit action a refusal of `action` is recorded under (every kind of issuing is `token.create`). */
export function auditActionOf(action: Action): AuditAction {
  if (action.startsWith('token.create.')) return 'token.create';
  if (action === 'token.platform.read') return 'token.read';
  if (action === 'token.platform.revoke') return 'token.revoke';
  return action as Exclude<Action, `token.create.${string}` | `token.platform.${string}`>;
}
