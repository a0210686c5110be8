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
  requestId: z.string().nullable(),
  hash: z.string(),
  prevHash: z.string(),
});

/** `GET /v1/audit` response. */
export const AuditPage = z.object({ events: z.array(AuditEvent), nextCursor: z.string().nullable() });

/** `GET /v1/audit/verify?tenantId=` response. */
export const VerifyResponse = z.object({
  ok: z.boolean(),
  checked: z.number().int(),
  firstBrokenSeq: z.number().int().optional(),
  reason: z.string().optional(),
});
