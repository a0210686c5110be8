import { z } from 'zod';
import { TenantId, Timestamp } from './common.js';
import { ProviderName } from './tenants.js';

/** `POST /v1/tenants/{tenantId}/tenant-key/rotate` response (202): the new version and its re-encryption job. */
export const RotateResponse = z.object({ version: z.number().int(), jobId: z.string() });

/** `POST /v1/tenants/{tenantId}/tenant-key/retire` */
export const RetireRequest = z.strictObject({ minVersion: z.number().int().min(1).max(1_000_000) });

/** Retirement answer: tenant-key versions below `minVersion` destroyed. */
export const RetireResponse = z.object({ minVersion: z.number().int(), retired: z.number().int() });

/** Job id as it appears in URLs. */
export const JobId = z.string().regex(/^job_[0-9a-f]{24}$/, 'job id: job_ and 24 hex digits');

/** A background job (re-encryption after a rotation) and its progress. */
export const JobResponse = z.object({
  id: JobId,
  kind: z.string(),
  state: z.string(),
  done: z.number().int(),
  total: z.number().int(),
  /** Records per second since the job started (until it finished). */
  rate: z.number(),
  errors: z.number().int(),
  lastError: z.string().nullable(),
  targetVersion: z.number().int(),
  startedAt: Timestamp,
  updatedAt: Timestamp,
  finishedAt: Timestamp.nullable(),
});

/** `GET /v1/tenants/{tenantId}/cmk/policy` query: the provider and, optionally, the key to grant on. */
export const CmkPolicyQuery = z.strictObject({
  provider: ProviderName,
  keyRef: z.string().min(1).max(2048).optional(),
});

/** The customer-side grant for one tenant: policy / role / binding, CLI lines and notes. */
export const CmkPolicyGuideResponse = z.object({
  provider: z.string(),
  tenantId: TenantId,
  keyRef: z.string().nullable(),
  principal: z.string(),
  /** Provider-shaped grant, written by the provider's module (AWS key policy, Azure role assignment, GCP IAM bindings, HSM key template). */
  grant: z.object({ kind: z.string() }).catchall(z.unknown()),
  cli: z.string(),
  /** The same grant as Terraform, where a Terraform provider manages it. */
  terraform: z.string().optional(),
  notes: z.array(z.string()),
});
