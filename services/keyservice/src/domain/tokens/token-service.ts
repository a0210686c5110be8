import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { tokenRepository, type Db, type TokenRole, type TokenRow } from '@byok/store';

/** Who is calling: resolved from a bearer token. */
export interface Principal {
  tokenId: string;
  role: TokenRole;
  tenantId: string | null;
  /** The platform service a service token belongs to (what a tenant can suspend). */
  service?: string | null;
  /** A multi-tenant service token's tenants: a list, or every tenant. */
  grants?: readonly string[] | 'all';
}

/** The tenants a token row may act on beyond its tenantId: a list, every tenant, or none. */
export function grantsOf(
  row: Pick<TokenRow, 'role' | 'tenantId' | 'tenantGrants'>,
): readonly string[] | 'all' | undefined {
  if (row.role !== 'service' || row.tenantId !== null) return undefined;
  return row.tenantGrants ?? 'all';
}

const TOKEN_PREFIX = 'byok_';

/** SHA-256 of a token: tokens carry 256 random bits, so a fast hash is safe to store. */
export function hashToken(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

/** A new random token (`byok_` + 43 base64url characters) and its id. */
export function generateToken(): { id: string; token: string } {
  return {
    id: `tok_${randomBytes(9).toString('base64url')}`,
    token: `${TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`,
  };
}

interface CachedPrincipal {
  principal: Principal;
  hash: Buffer;
  expiresAt: number;
}

/**
 * Issues and verifies bearer tokens. Verified tokens are remembered for `cacheSeconds` so the hot
 * path does not query the database per request; that also bounds how long a revoked token works.
 */
export class TokenService {
  private readonly cache = new Map<string, CachedPrincipal>();

  constructor(
    private readonly db: Db,
    private readonly cacheSeconds: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Resolves a presented token, or undefined. Hashes compared in constant time. */
  async authenticate(token: string): Promise<Principal | undefined> {
    if (token.length < 16 || token.length > 256) return undefined;
    const hash = hashToken(token);
    const cacheKey = hash.toString('base64');
    const hit = this.cache.get(cacheKey);
    if (hit && hit.expiresAt > this.now() && timingSafeEqual(hit.hash, hash)) return hit.principal;
    const row = await tokenRepository.findActiveByHash(this.db, hash);
    if (!row || !timingSafeEqual(row.tokenHash, hash)) {
      this.cache.delete(cacheKey);
      return undefined;
    }
    const principal: Principal = {
      tokenId: row.id,
      role: row.role,
      tenantId: row.tenantId,
      service: row.service,
    };
    const grants = grantsOf(row);
    if (grants) principal.grants = grants;
    if (this.cacheSeconds > 0) {
      if (this.cache.size > 10_000) this.cache.clear();
      // A cached verification never outlives the token's own expiry.
      const until = Math.min(
        this.now() + this.cacheSeconds * 1000,
        row.expiresAt ? row.expiresAt.getTime() : Number.POSITIVE_INFINITY,
      );
      this.cache.set(cacheKey, { principal, hash, expiresAt: until });
    }
    return principal;
  }

  /** Creates a token; the returned `token` is shown once and never stored. */
  async issue(
    db: Db,
    t: {
      name: string;
      role: TokenRole;
      tenantId: string | null;
      createdBy: string | null;
      expiresAt?: Date | null;
      service?: string | null;
      tenantGrants?: string[] | null;
      /** A chosen token (bootstrap), or only its SHA-256 when the operator keeps the token itself. */
      token?: string;
      tokenHash?: Buffer;
    },
  ): Promise<{ row: TokenRow; token: string }> {
    const generated = generateToken();
    const token = t.token ?? generated.token;
    const row = await tokenRepository.insert(db, {
      id: generated.id,
      name: t.name,
      role: t.role,
      tenantId: t.tenantId,
      tokenHash: t.tokenHash ?? hashToken(token),
      createdBy: t.createdBy,
      expiresAt: t.expiresAt ?? null,
      service: t.service ?? null,
      tenantGrants: t.tenantGrants ?? null,
    });
    return { row, token };
  }

  /** Forgets cached verifications (after a revocation on this instance). */
  forgetAll(): void {
    this.cache.clear();
  }
}
