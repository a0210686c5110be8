import type { TenantPolicy } from '@byok/store';
import type { Principal } from '../tokens/token-service.js';

/**
 * Decides whether `purpose` may be declared by `principal` under the tenant's policy. Without an
 * `allowedPurposes` policy any purpose (or none) is fine. With one, the token's own list wins over
 * its role's list, and a principal with neither list, or a missing purpose, is refused.
 */
export function purposeAllowed(
  policy: TenantPolicy,
  principal: Principal,
  purpose: string | undefined,
): boolean {
  const allowed = policy.allowedPurposes;
  if (!allowed) return true;
  const list = allowed.byToken?.[principal.tokenId] ?? allowed.byRole?.[principal.role];
  if (!list || purpose === undefined) return false;
  return list.includes(purpose);
}
