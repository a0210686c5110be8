import { z } from 'zod';
import { IssuableRole, Purpose, Role, TenantId, Timestamp } from './common.js';

/** `POST /v1/tenants` */
export const CreateTenantRequest = z.strictObject({ id: TenantId, name: z.string().min(1).max(200) });

/** A tenant as the API shows it. */
export const TenantResponse = z.object({
  id: TenantId,
  name: z.string(),
  state: z.enum(['active', 'locked', 'deleted']),
  cacheTtlSeconds: z.number().int(),
  createdAt: Timestamp,
});

/** The name of a platform service (what a service token belongs to and a tenant admin can suspend). */
export const ServiceName = z.string().regex(/^[a-z0-9][a-z0-9._-]{0,63}$/);

/** The tenants a shared service token may act on: a list, or `all` (null: just its tenantId). */
export const TenantGrants = z.union([z.array(TenantId), z.literal('all')]).nullable();

/** An instant in ISO 8601 with an offset (`2026-12-01T12:00:00Z`). */
const Instant = z.iso.datetime({ offset: true });

/** `POST /v1/tokens` */
export const CreateTokenRequest = z.strictObject({
  name: z.string().min(1).max(200),
  role: IssuableRole,
  /** Required except for platform-admin and global auditor tokens, and shared service tokens. */
  tenantId: TenantId.optional(),
  /** One service token for several tenants (one token per platform service), instead of tenantId. */
  tenantIds: z.array(TenantId).min(1).max(1000).optional(),
  /** One service token for every tenant, instead of tenantId. */
  allTenants: z.literal(true).optional(),
  /** The platform service of a service token (defaults to a slug of `name`). */
  service: ServiceName.optional(),
  /** When the token stops working. */
  expiresAt: Instant.optional(),
});

/** The one response that shows a token. */
export const CreateTokenResponse = z.object({
  id: z.string(),
  token: z.string(),
  name: z.string(),
  role: Role,
  tenantId: TenantId.nullable(),
  service: ServiceName.nullable(),
  grants: TenantGrants,
  expiresAt: Timestamp.nullable(),
});

/** `POST /v1/tokens/{tokenId}/rotate` */
export const RotateTokenRequest = z.strictObject({
  /** How long the old token keeps working (0 = it stops now). */
  overlapSeconds: z
    .number()
    .int()
    .min(0)
    .max(30 * 24 * 3600),
  /** When the new token stops working (default: the old token's expiry). */
  expiresAt: Instant.optional(),
});

/** A rotated token: the new token (shown once) and when the old one stops. */
export const RotateTokenResponse = CreateTokenResponse.extend({
  replaces: z.string(),
  previousExpiresAt: Timestamp,
});

/** Token metadata (never the token). */
export const TokenResponse = z.object({
  id: z.string(),
  name: z.string(),
  role: Role,
  tenantId: TenantId.nullable(),
  service: ServiceName.nullable(),
  grants: TenantGrants,
  createdAt: Timestamp,
  expiresAt: Timestamp.nullable(),
  revokedAt: Timestamp.nullable(),
});

/** What a KMS provider module name looks like: `@byok/kms`'s `PROVIDER_NAME_PATTERN` (a test keeps them equal). */
export const PROVIDER_NAME_PATTERN = /^[a-z][a-z0-9-]{0,31}$/;

/** A KMS provider module name (`aws-kms`, `pkcs11`); the service checks it against its registry. */
export const ProviderName = z.string().max(32).regex(PROVIDER_NAME_PATTERN);

/** `GET /v1/tenants/{tenantId}/tokens` response. */
export const TokenList = z.object({ tokens: z.array(TokenResponse) });

/** Token id as it appears in URLs. */
export const TokenId = z.string().min(1).max(64);

/** Kill switch answer (`revoke`, `restore`). */
export const TenantStateResponse = z.object({ id: TenantId, state: z.enum(['active', 'locked']) });

/** First half of a two-admin restore: still locked until a different tenant admin confirms. */
export const RestorePendingResponse = z.object({
  id: TenantId,
  state: z.literal('locked'),
  restore: z.literal('pending'),
  /** Until when a second, different tenant-admin token can confirm. */
  confirmBefore: Timestamp,
});

/** `PUT /v1/tenants/{tenantId}/rate-limit`: the tenant's own token bucket. */
export const PutTenantRateLimitRequest = z.strictObject({
  /** Requests per second refilled into the tenant's bucket (fractions allowed: 0.5 = one per 2 s). */
  rps: z.number().min(0.001).max(1_000_000),
  /** Bucket size: requests allowed at once after a quiet period. */
  burst: z.number().int().min(1).max(1_000_000),
});

/** The tenant's effective rate limit: the platform admin's override, or the service default. */
export const TenantRateLimitResponse = z.object({
  tenantId: TenantId,
  /** 0: no per-tenant limit (the default is off, development mode). */
  rps: z.number().min(0),
  burst: z.number().min(0),
  /** True when the platform admin set it for this tenant; false: the service default. */
  override: z.boolean(),
});

/** A service's suspension from a tenant. */
export const ServiceSuspensionResponse = z.object({
  tenantId: TenantId,
  service: ServiceName,
  suspended: z.boolean(),
});

/** Offboarding answer: the tenant keys destroyed (crypto-shredding). */
export const DeletedTenantResponse = z.object({
  id: TenantId,
  state: z.literal('deleted'),
  destroyedTenantKeys: z.number().int(),
});

/** `PUT /v1/tenants/{tenantId}/cmk` */
export const PutCmkRequest = z.strictObject({
  provider: ProviderName,
  keyRef: z.string().min(1).max(2048),
});

/** The tenant's registered customer key. */
export const CmkResponse = z.object({
  provider: ProviderName,
  keyRef: z.string(),
  state: z.enum(['active', 'revoked']),
  verifiedAt: Timestamp,
  lastCheckAt: Timestamp,
  lastError: z.string().nullable(),
  tenantKeyVersion: z.number().int().nullable(),
});

const PurposeList = z.array(Purpose).max(64);

/** `PUT /v1/tenants/{tenantId}/policy` */
/** Tenant policy for AI usage spike alerts (absent fields take the documented defaults). */
export const AiSpikePolicy = z.strictObject({
  /** Default true. */
  enabled: z.boolean().optional(),
  /** k: the current hour must exceed k x the trailing 7-day hourly mean (default 5). */
  factor: z.number().int().min(1).max(1000).optional(),
  /** Spend floor of a spend spike, micro-dollars in the hour (default 1,000,000 = $1). */
  minSpendMicros: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
  /** Request floor of a request-count spike, calls in the hour (default 100). */
  minRequests: z.number().int().min(1).max(1_000_000_000).optional(),
  /** Suspend the secret's AI use on a spike (default false). */
  autoSuspend: z.boolean().optional(),
});

export const PutPolicyRequest = z.strictObject({
  cacheTtlSeconds: z.number().int().min(0).max(3600).optional(),
  allowedPurposes: z
    .strictObject({
      byRole: z.partialRecord(z.enum(['platform-admin', 'service']), PurposeList).optional(),
      byToken: z.record(z.string().max(64), PurposeList).optional(),
    })
    .optional(),
  purposeInKmsContext: z.boolean().optional(),
  restoreRequiresTwoAdmins: z.boolean().optional(),
  aiSpikes: AiSpikePolicy.optional(),
});

/** The tenant's policy. */
export const PolicyResponse = z.object({
  cacheTtlSeconds: z.number().int(),
  allowedPurposes: z
    .object({
      byRole: z.record(z.string(), z.array(z.string())).optional(),
      byToken: z.record(z.string(), z.array(z.string())).optional(),
    })
    .optional(),
  purposeInKmsContext: z.boolean().optional(),
  restoreRequiresTwoAdmins: z.boolean().optional(),
  aiSpikes: AiSpikePolicy.optional(),
});

/** Name of a key of the local development KMS. */
export const LocalKeyName = z.string().regex(/^[A-Za-z0-9._-]{1,64}$/);

/** `POST /v1/dev/local-kms/keys` (development mode only) */
export const CreateLocalKeyRequest = z.strictObject({ name: LocalKeyName });

/** A local development key (never its material). */
export const LocalKey = z.object({ keyRef: z.string(), enabled: z.boolean(), createdAt: Timestamp });

/** `GET /v1/dev/local-kms/keys` response. */
export const LocalKeyList = z.object({ keys: z.array(LocalKey) });

/** Answer of disabling or enabling a local development key. */
export const LocalKeyState = z.object({ keyRef: z.string(), enabled: z.boolean() });
