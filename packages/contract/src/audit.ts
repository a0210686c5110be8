import { z } from 'zod';
import { Purpose, TenantId } from './common.js';

/** `GET /v1/audit` query. */
export const AuditQuery = z.strictObject({
  tenantId: TenantId.optional(),
  action: z.string().max(64).optional(),
  outcome: z.enum(['success', 'failure', 'denied']).optional(),
  actorTokenId: z.string().max(64).optional(),
  purpose: Purpose.optional(),
  resource: z.string().max(300).optional(),
  since: z.iso.datetime({ offset: true }).optional(),
  until: z.iso.datetime({ offset: true }).optional(),
  cursor: z.string().max(512).optional(),
  limit: z.coerce.number().int().min(1).max(500).optional(),
});

/** One audit event as the API shows it (no plaintext, secrets or key material, by construction). */
export const AuditEvent = z.object({
  chain: z.string(),
  seq: z.number().int(),
  at: z.string(),
  tenantId: z.string().nullable(),
  actorTokenId: z.string().nullable(),
  actorRole: z.string().nullable(),
  action: z.string(),
  resource: z.string().nullable(),
  outcome: z.string(),
  errorCode: z.string().nullable(),
  purpose: z.string().nullable(),
  kmsProvider: z.string().nullable(),
  kmsKeyRef: z.string().nullable(),
  kmsRequestId: z.string().nullable(),
  /** The server-issued request id (never the client's). */
  requestId: z.string().nullable(),
  /** The client's own X-Request-Id, recorded beside it (null on events before issue 13). */
  clientRequestId: z.string().nullable(),
  /** The client address the service saw (null on events before issue 13 and on background jobs). */
  clientAddress: z.string().nullable(),
  /** Allow-listed detail keys with scalar values (never plaintext, secrets or key material). */
  details: z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()])).nullable(),
  hash: z.string(),
  prevHash: z.string(),
});

/** `GET /v1/audit` response. */
export const AuditPage = z.object({ events: z.array(AuditEvent), nextCursor: z.string().nullable() });

/** `GET /v1/audit/verify?tenantId=` response; the checkpoint fields appear when signing is configured. */
export const VerifyResponse = z.object({
  ok: z.boolean(),
  chain: z.string().optional(),
  checked: z.number().int(),
  headSeq: z.number().int().optional(),
  firstBrokenSeq: z.number().int().optional(),
  reason: z.string().optional(),
  checkpointsVerified: z.number().int().optional(),
  checkpointSeq: z.number().int().optional(),
});

/** Query naming one tenant's chain (required for tenant-scoped readers, chosen for global ones). */
export const TenantChainQuery = z.strictObject({ tenantId: TenantId.optional() });

/** `GET /v1/audit/verify` query: from the last verified point, or the whole chain with `full=true`. */
export const AuditVerifyQuery = z.strictObject({
  tenantId: TenantId.optional(),
  full: z.enum(['true', 'false']).optional(),
});

/** `GET /v1/audit/export` query. */
export const AuditExportQuery = z.strictObject({
  tenantId: TenantId.optional(),
  format: z.enum(['ndjson', 'csv']).default('ndjson'),
});

/** `GET /v1/audit/kms-calls` query: the tenant's KMS calls, for reconciliation with the cloud's own log. */
export const KmsCallsQuery = z.strictObject({
  tenantId: TenantId.optional(),
  action: z.enum(['kms.unwrap', 'kms.wrap']).default('kms.unwrap'),
  since: z.iso.datetime({ offset: true }).optional(),
  until: z.iso.datetime({ offset: true }).optional(),
  cursor: z.string().max(512).optional(),
  limit: z.coerce.number().int().min(1).max(500).optional(),
});

/** One KMS call as recorded in the audit log. */
export const KmsCall = z.object({
  seq: z.number().int(),
  at: z.string(),
  operation: z.string(),
  provider: z.string().nullable(),
  keyRef: z.string().nullable(),
  kmsRequestId: z.string().nullable(),
  outcome: z.string(),
  errorCode: z.string().nullable(),
  requestId: z.string().nullable(),
});

/** `GET /v1/audit/kms-calls` response. */
export const KmsCallsPage = z.object({ calls: z.array(KmsCall), nextCursor: z.string().nullable() });

/** `POST /v1/audit/checkpoints` body. */
export const CreateCheckpointRequest = z.strictObject({ tenantId: TenantId.optional() });

/** `GET /v1/audit/checkpoints` query. */
export const CheckpointListQuery = z.strictObject({
  tenantId: TenantId.optional(),
  afterSeq: z.coerce.number().int().min(0).optional(),
});

/** A signed checkpoint of a chain head (Ed25519). */
export const Checkpoint = z.object({
  chain: z.string(),
  seq: z.number().int(),
  headHash: z.string(),
  at: z.string(),
  signature: z.string(),
  keyId: z.string(),
});

/** `POST /v1/audit/checkpoints` response (201 new, 200 already signed). */
export const CheckpointResult = z.object({ created: z.boolean(), checkpoint: Checkpoint });

/** `POST /v1/audit/checkpoints` answer when the chain failed verification (409): nothing was signed. */
export const CheckpointRefused = z.object({
  created: z.literal(false),
  checkpoint: z.null(),
  refused: z.object({ firstBrokenSeq: z.number().int(), reason: z.string() }),
});

/** `GET /v1/audit/checkpoints` response. */
export const CheckpointList = z.object({ checkpoints: z.array(Checkpoint) });

/** `GET /v1/audit/public-key` response: the key checkpoints are signed with now (see {@link AuditKeyring} for all). */
export const AuditPublicKey = z.object({
  algorithm: z.literal('Ed25519'),
  keyId: z.string(),
  publicKeyPem: z.string(),
});

/** One trusted checkpoint key (public only) and its validity period (null = open). */
export const AuditKeyringEntry = z.object({
  keyId: z.string(),
  algorithm: z.literal('Ed25519'),
  publicKeyPem: z.string(),
  validFrom: z.string().nullable(),
  validUntil: z.string().nullable(),
});

/**
 * `GET /v1/audit/public-keys` response: the keyring the service verifies checkpoints with, and
 * the key it signs with now. Saved after review by the security team, it is also a keyring file
 * for `byok audit verify --keyring`.
 */
export const AuditKeyring = z.object({
  source: z.enum(['database', 'file']),
  signingKeyId: z.string(),
  keys: z.array(AuditKeyringEntry),
});

/** Sink id as it appears in URLs. */
export const SinkId = z.string().regex(/^snk_[0-9a-f]{20}$/, 'sink id: snk_ and 20 hex digits');

/** `POST /v1/tenants/{tenantId}/audit/sinks` */
export const CreateSinkRequest = z.strictObject({
  url: z.string().min(8).max(2048),
  batchSize: z.number().int().min(1).max(1000).optional(),
  startAt: z.enum(['beginning', 'now']).optional(),
});

/** A SIEM sink and its delivery state (never its secret). */
export const AuditSink = z.object({
  id: SinkId,
  tenantId: TenantId,
  url: z.string(),
  enabled: z.boolean(),
  batchSize: z.number().int(),
  lastDeliveredSeq: z.number().int(),
  headSeq: z.number().int(),
  lag: z.number().int(),
  attempts: z.number().int(),
  lastError: z.string().nullable(),
  lastAttemptAt: z.string().nullable(),
  lastSuccessAt: z.string().nullable(),
  nextAttemptAt: z.string(),
  createdAt: z.string(),
});

/** The one response that shows a sink's HMAC secret. */
export const CreatedAuditSink = AuditSink.extend({ secret: z.string() });

/** `GET /v1/tenants/{tenantId}/audit/sinks` response. */
export const AuditSinkList = z.object({ sinks: z.array(AuditSink) });
