import { z } from 'zod';

/** Largest plaintext accepted by encrypt (1 MiB, decoded). */
export const MAX_PLAINTEXT_BYTES = 1024 * 1024;
/** Largest number of items in one batch request. */
export const MAX_BATCH_ITEMS = 1000;

/** Tenant id: lower-case letters, digits and dashes; it appears in AAD, audit chains and URLs. */
export const TenantId = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'tenant id: 1-63 lower-case letters, digits or dashes');

/** A declared purpose for a decrypt or reveal, e.g. `llm-inference`. */
export const Purpose = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]{0,63}$/, 'purpose: 1-64 lower-case letters, digits or dashes');

/** Caller context bound into a ciphertext (string values only; canonicalised by the envelope). */
export const Context = z
  .record(z.string().min(1).max(128), z.string().max(1024))
  .refine((c) => Object.keys(c).length <= 32, 'context: at most 32 keys');

// Strict patterns instead of z.base64()/z.base64url(): those decode the whole string with atob to
// validate it, which showed up at several percent of an audited decrypt's CPU. A pattern accepts
// exactly the canonical encodings (no whitespace, no stray padding, no impossible lengths).
/** Standard base64 with padding (plaintexts). */
export const Base64 = z
  .string()
  .regex(
    /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/,
    'must be standard base64 with padding',
  );
/** base64url without padding (ciphertexts). */
export const Base64Url = z
  .string()
  .regex(/^(?:[A-Za-z0-9_-]{4})*(?:[A-Za-z0-9_-]{2,3})?$/, 'must be base64url without padding');

/** ISO timestamp in responses. */
export const Timestamp = z.string();

/** Roles a token can have. */
export const Role = z.enum(['platform-admin', 'tenant-admin', 'service', 'auditor']);
/** Roles that can be issued through the API (platform-admin only by bootstrap). */
export const IssuableRole = z.enum(['tenant-admin', 'service', 'auditor']);
