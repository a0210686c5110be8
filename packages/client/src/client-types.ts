import type {
  AuditKeyring as AuditKeyringSchema,
  AuditPublicKey as AuditPublicKeySchema,
  AuditSink as AuditSinkSchema,
  Checkpoint as CheckpointSchema,
  CheckpointResult as CheckpointResultSchema,
  CmkPolicyGuideResponse,
  CmkPolicyQuery,
  CreatedAuditSink as CreatedAuditSinkSchema,
  CreateSinkRequest,
  DeletedTenantResponse,
  JobResponse,
  KmsCallsPage as KmsCallsPageSchema,
  KmsCallsQuery,
  RetireResponse,
  RotateResponse,
  TenantStateResponse,
  RestorePendingResponse,
  RotateTokenRequest,
  RotateTokenResponse,
  ServiceSuspensionResponse,
  TenantRateLimitResponse,
  TokenResponse,
  AuditEvent as AuditEventSchema,
  AuditPage as AuditPageSchema,
  AuditQuery,
  CmkResponse,
  CreateTenantRequest,
  CreateTokenRequest,
  CreateTokenResponse,
  ErrorCode,
  PolicyResponse,
  PutCmkRequest,
  PutPolicyRequest,
  PutSecretRequest,
  RevealResponse,
  SecretList,
  SecretMetadata as SecretMetadataSchema,
  TenantResponse,
  VerifyResponse,
} from '@byok/contract';
import type { z } from 'zod';

/** A tenant as the API shows it. */
export type Tenant = z.output<typeof TenantResponse>;
/** `createTenant` input. */
export type CreateTenantInput = z.input<typeof CreateTenantRequest>;
/** The tenant's registered customer key. */
export type Cmk = z.output<typeof CmkResponse>;
/** `putCmk` input. */
export type PutCmkInput = z.input<typeof PutCmkRequest>;
/** The tenant's policy. */
export type Policy = z.output<typeof PolicyResponse>;
/** `putPolicy` input (every field optional; absent fields keep their value). */
export type PutPolicyInput = z.input<typeof PutPolicyRequest>;
/** `createToken` input. */
export type CreateTokenInput = z.input<typeof CreateTokenRequest>;
/** A newly issued token: the only time its value is shown. */
export type CreatedToken = z.output<typeof CreateTokenResponse>;

/** Caller context bound into a ciphertext (string values; order does not matter). */
export type EncryptionContext = Record<string, string>;
/** `encrypt` result: base64url envelope ciphertext and the tenant key version that sealed it. */
export interface EncryptResult {
  ciphertext: string;
  keyVersion: number;
}
/** `decrypt` options. */
export interface DecryptOptions {
  context?: EncryptionContext;
  /** Declared purpose, checked against the tenant policy and written to the audit log. */
  purpose?: string;
}
/** One item of `encryptBatch`. */
export interface EncryptItem {
  plaintext: Uint8Array;
  context?: EncryptionContext;
}
/** One item of `decryptBatch`. */
export interface DecryptItem {
  ciphertext: string;
  context?: EncryptionContext;
}
/** A per-item failure inside a batch (the rest of the batch is unaffected). */
export interface ItemError {
  code: ErrorCode;
  detail: string;
}
/** Per-item `encryptBatch` result, in input order. */
export type EncryptItemResult = { ok: true; ciphertext: string } | { ok: false; error: ItemError };
/** Per-item `decryptBatch` result, in input order. */
export type DecryptItemResult = { ok: true; plaintext: Buffer } | { ok: false; error: ItemError };

/** `putSecret` input: the value is format-checked per kind before anything is sent. */
export type PutSecretInput = z.input<typeof PutSecretRequest>;
/** Secret metadata: never the value. */
export type SecretMetadata = z.output<typeof SecretMetadataSchema>;
/** One page of `listSecrets`. */
export type SecretPage = z.output<typeof SecretList>;
/** `listSecrets` paging options. */
export interface ListSecretsOptions {
  /** `nextCursor` of the previous page. */
  cursor?: string;
  /** Page size, 1-500 (service default 100). */
  limit?: number;
}
/** `revealSecret` options. */
export interface RevealOptions {
  purpose?: string;
  /** A specific version (default: the current one). */
  version?: number;
}
/** A revealed secret: handle as sensitive, do not log. */
export type RevealedSecret = z.output<typeof RevealResponse>;

/** `queryAudit` filters and paging. */
export type AuditQueryInput = Omit<z.input<typeof AuditQuery>, 'limit'> & { limit?: number };
/** One audit event. */
export type AuditEvent = z.output<typeof AuditEventSchema>;
/** One page of audit events. */
export type AuditPage = z.output<typeof AuditPageSchema>;
/** Result of verifying a tenant's audit chain. */
export type AuditVerification = z.output<typeof VerifyResponse>;
/** `health()` / `ready()` result. */
export interface HealthStatus {
  status: string;
}
/** Kill switch result. */
export type TenantState = z.output<typeof TenantStateResponse>;
/** First half of a two-admin restore: the tenant stays locked until a second tenant admin confirms. */
export type RestorePending = z.output<typeof RestorePendingResponse>;
/** Options of a token rotation (the overlap during which the old token still works). */
export type RotateTokenInput = z.input<typeof RotateTokenRequest>;
/** A rotated token: the new value (shown once) and when the old one stops. */
export type RotatedToken = z.output<typeof RotateTokenResponse>;
/** A service's suspension state on a tenant. */
export type ServiceSuspension = z.output<typeof ServiceSuspensionResponse>;
/** Offboarding result. */
export type DeletedTenant = z.output<typeof DeletedTenantResponse>;
/** `getCmkPolicy` query: the cloud and, optionally, the key. */
export type CmkPolicyQueryInput = z.input<typeof CmkPolicyQuery>;
/** The grant a customer applies in its cloud. */
export type CmkPolicyGuide = z.output<typeof CmkPolicyGuideResponse>;
/** A rotation: the new tenant-key version and its re-encryption job. */
export type Rotation = z.output<typeof RotateResponse>;
/** A retirement of old tenant-key versions. */
export type Retirement = z.output<typeof RetireResponse>;
/** A background job and its progress. */
export type Job = z.output<typeof JobResponse>;
/** Token metadata (never the token). */
export type TokenInfo = z.output<typeof TokenResponse>;
/** The audit checkpoint signing key. */
export type AuditPublicKey = z.output<typeof AuditPublicKeySchema>;
/** The trusted checkpoint keys and their validity periods (public keys only). */
export type AuditKeyring = z.output<typeof AuditKeyringSchema>;
/** A signed checkpoint. */
export type Checkpoint = z.output<typeof CheckpointSchema>;
/** `createCheckpoint` result. */
export type CheckpointResult = z.output<typeof CheckpointResultSchema>;
/** `listKmsCalls` filters and paging. */
export type KmsCallsQueryInput = Omit<z.input<typeof KmsCallsQuery>, 'limit'> & { limit?: number };
/** One page of KMS calls. */
export type KmsCallsPage = z.output<typeof KmsCallsPageSchema>;
/** `createAuditSink` input. */
export type CreateAuditSinkInput = z.input<typeof CreateSinkRequest>;
/** A SIEM sink and its delivery state. */
export type AuditSinkInfo = z.output<typeof AuditSinkSchema>;
/** A new SIEM sink with its HMAC secret (shown once). */
export type CreatedAuditSink = z.output<typeof CreatedAuditSinkSchema>;

/** A tenant's effective rate limit (the platform admin's override, or the service default). */
export type TenantRateLimit = z.output<typeof TenantRateLimitResponse>;
