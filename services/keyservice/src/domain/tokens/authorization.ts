import type { Principal } from './token-service.js';

/** Every operation a route can ask permission for. */
export type Action =
  | 'tenant.read'
  | 'tenant.lock'
  | 'tenant.delete'
  | 'cmk.read'
  | 'cmk.write'
  | 'policy.read'
  | 'policy.write'
  | 'token.create'
  | 'token.read'
  | 'token.revoke'
  | 'encrypt'
  | 'decrypt'
  | 'secret.list'
  | 'secret.write'
  | 'secret.reveal'
  | 'secret.delete'
  | 'audit.read';

const TENANT_ADMIN = new Set<Action>([
  'tenant.read',
  'tenant.lock',
  'cmk.read',
  'cmk.write',
  'policy.read',
  'policy.write',
  'token.create',
  'token.read',
  'token.revoke',
  'secret.list',
  'secret.write',
  'secret.delete',
  'audit.read',
]);
const SERVICE = new Set<Action>([
  'tenant.read',
  'encrypt',
  'decrypt',
  'secret.list',
  'secret.write',
  'secret.reveal',
  'secret.delete',
]);
const AUDITOR = new Set<Action>(['tenant.read', 'audit.read']);

/**
 * The role rules in one place. A platform admin may do anything; a tenant admin manages its own
 * tenant but never sees plaintext; a service uses its tenant's keys and secrets; an auditor reads
 * its tenant's audit log (or every tenant's when issued without one).
 */
export function isAllowed(p: Principal, action: Action, tenantId: string | null): boolean {
  switch (p.role) {
    case 'platform-admin':
      return true;
    case 'tenant-admin':
      return tenantId !== null && p.tenantId === tenantId && TENANT_ADMIN.has(action);
    case 'service':
      return tenantId !== null && p.tenantId === tenantId && SERVICE.has(action);
    case 'auditor':
      return AUDITOR.has(action) && (p.tenantId === null || p.tenantId === tenantId);
    default:
      return false;
  }
}
