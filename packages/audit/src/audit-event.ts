import { AuditInputError } from './audit-errors.js';

/** Chain for events that belong to no tenant (platform admin actions, unauthenticated denials). */
export const PLATFORM_CHAIN = '_platform';

/** How the audited operation ended. */
export type AuditOutcome = 'success' | 'failure' | 'denied';

/** A scalar allowed in `details`. */
export type AuditDetailValue = string | number | boolean | null;

/** What a caller records. Everything but `action` and `outcome` is optional. */
export interface AuditEventInput {
  /** Tenant the event belongs to; selects the chain. Omit for platform events. */
  tenantId?: string;
  actorTokenId?: string;
  actorRole?: string;
  /** Dotted verb, e.g. `kms.unwrap`, `data.decrypt`, `secret.reveal`, `tenant.cmk.put`. */
  action: string;
  /** What was acted on, e.g. `secrets/openai-prod`; never a value. */
  resource?: string;
  outcome: AuditOutcome;
  /** Stable error code on failure or denial, e.g. `KEY_REVOKED`. */
  errorCode?: string;
  /** Declared purpose of a decrypt or reveal. */
  purpose?: string;
  kmsProvider?: string;
  kmsKeyRef?: string;
  kmsRequestId?: string;
  /** Server-issued id of the request (never taken from the client). */
  requestId?: string;
  /** The client's own `X-Request-Id`, recorded beside the server's id, never trusted as it. */
  clientRequestId?: string;
  /** The client address as the HTTP layer saw it (`req.ip`). */
  clientAddress?: string;
  /** Small object of allow-listed keys with scalar values; see {@link DEFAULT_DETAIL_KEYS}. */
  details?: Record<string, AuditDetailValue>;
}

/** A stored event: the input plus its place in the chain. Absent fields are `null`. */
export interface AuditEvent {
  chain: string;
  seq: number;
  tenantId: string | null;
  at: Date;
  actorTokenId: string | null;
  actorRole: string | null;
  action: string;
  resource: string | null;
  outcome: AuditOutcome;
  errorCode: string | null;
  purpose: string | null;
  kmsProvider: string | null;
  kmsKeyRef: string | null;
  kmsRequestId: string | null;
  requestId: string | null;
  /** Added in migration 0009; hashed only when present, so older rows keep their hashes. */
  clientRequestId: string | null;
  /** Added in migration 0009; hashed only when present. */
  clientAddress: string | null;
  details: Record<string, AuditDetailValue> | null;
}

/** A stored event with its chain link and hash (32 bytes each). */
export interface ChainedAuditEvent extends AuditEvent {
  prevHash: Uint8Array;
  hash: Uint8Array;
}

/** Where a recorded event landed; `hash` is lowercase hex. */
export interface AuditRecord {
  chain: string;
  seq: number;
  hash: string;
  at: Date;
}

/**
 * The keys `details` may carry by default. Values are scalars; nothing here can hold a key,
 * plaintext or secret, and string values that look like key material are refused anyway.
 */
export const DEFAULT_DETAIL_KEYS: readonly string[] = [
  'keyVersion',
  'minVersion',
  'secretName',
  'secretVersion',
  'secretKind',
  'itemCount',
  'failedCount',
  'reason',
  'previousState',
  'newState',
  'cacheHit',
  'durationMs',
  'httpStatus',
  'method',
  'route',
  'targetTenantId',
  'cacheTtlSeconds',
  'rps',
  'burst',
  'attempt',
  'count',
  'period',
  'limitMicros',
  'spentMicros',
  'reservedMicros',
  'costMicros',
  'model',
  'requestCount',
  'baselineMicros',
  'baselineRequests',
  'provider',
  'operation',
  'stream',
  'inputTokens',
  'outputTokens',
  'cachedInputTokens',
  'upstreamRequestId',
];

const OUTCOMES: ReadonlySet<string> = new Set(['success', 'failure', 'denied']);
const ACTION_RE = /^[a-z][a-z0-9_.:-]{0,63}$/;
// Same shape as tenants.id in 0001_core.sql; '_platform' therefore cannot collide with a tenant.
/** Tenant ids the audit log accepts: the contract's `TENANT_ID_PATTERN` (a test keeps them equal; audit does not depend on the contract). */
export const AUDIT_TENANT_ID_PATTERN = /^[a-z0-9][a-z0-9-]{0,62}$/;
const MAX_FIELD = 512;
const MAX_DETAIL_STRING = 200;
const MAX_DETAIL_KEYS = 16;
// Long hex runs, or long base64/base64url runs with the character spread of random bytes
// (paths and slugs of the same length score well under the threshold).
const HEX_RUN_RE = /[0-9a-fA-F]{48,}/;
const B64_RUN_RE = /[A-Za-z0-9+/_=-]{32,}/g;
const RANDOM_BITS_PER_CHAR = 4.3;
// NUL cannot be stored in text/jsonb; a lone surrogate would be stored as U+FFFD and break the hash.
const LONE_SURROGATE_RE = /\p{Cs}/u;

const OPTIONAL_STRINGS = [
  'actorTokenId',
  'actorRole',
  'resource',
  'errorCode',
  'purpose',
  'kmsProvider',
  'kmsKeyRef',
  'kmsRequestId',
  'requestId',
  'clientRequestId',
  'clientAddress',
] as const;

function fail(message: string): never {
  throw new AuditInputError(message);
}

function checkString(name: string, value: unknown, max: number): void {
  if (typeof value !== 'string' || value.length === 0 || value.length > max) {
    fail(`audit field ${name} must be a non-empty string of at most ${max} characters`);
  }
  if (value.includes('\u0000') || LONE_SURROGATE_RE.test(value))
    fail(`audit field ${name} contains characters that cannot be stored`);
}

function checkDetails(details: unknown, allowed: ReadonlySet<string>): void {
  if (typeof details !== 'object' || details === null || Array.isArray(details)) {
    fail('audit details must be a plain object');
  }
  const entries = Object.entries(details);
  if (entries.length > MAX_DETAIL_KEYS) fail(`audit details may hold at most ${MAX_DETAIL_KEYS} keys`);
  for (const [key, value] of entries) {
    if (!allowed.has(key)) fail(`audit details key "${key}" is not allow-listed`);
    if (value === null || typeof value === 'boolean') continue;
    if (typeof value === 'number') {
      if (!Number.isSafeInteger(value)) fail(`audit details.${key} must be a safe integer`);
      continue;
    }
    if (typeof value !== 'string') fail(`audit details.${key} must be a string, integer, boolean or null`);
    checkString(`details.${key}`, value, MAX_DETAIL_STRING);
    if (looksLikeKeyMaterial(value)) fail(`audit details.${key} looks like key material; refusing to log it`);
  }
}

function shannonBitsPerChar(s: string): number {
  const counts = new Map<string, number>();
  for (const ch of s) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  let bits = 0;
  for (const n of counts.values()) bits -= (n / s.length) * Math.log2(n / s.length);
  return bits;
}

/** Heuristic: true when `value` contains a run shaped like an encoded key, token or ciphertext. */
export function looksLikeKeyMaterial(value: string): boolean {
  if (HEX_RUN_RE.test(value)) return true;
  for (const run of value.match(B64_RUN_RE) ?? []) {
    if (shannonBitsPerChar(run) >= RANDOM_BITS_PER_CHAR) return true;
  }
  return false;
}

/**
 * Throws {@link AuditInputError} unless `e` is a well-formed event whose details use only
 * `allowedDetailKeys` with small scalar values. Runs before queueing, so one bad event never
 * fails a batch of good ones.
 */
export function assertValidEvent(e: AuditEventInput, allowedDetailKeys: ReadonlySet<string>): void {
  if (typeof e !== 'object' || e === null) fail('audit event must be an object');
  if (typeof e.action !== 'string' || !ACTION_RE.test(e.action)) {
    fail('audit action must match /^[a-z][a-z0-9_.:-]{0,63}$/');
  }
  if (!OUTCOMES.has(e.outcome)) fail('audit outcome must be success, failure or denied');
  if (
    e.tenantId !== undefined &&
    (typeof e.tenantId !== 'string' || !AUDIT_TENANT_ID_PATTERN.test(e.tenantId))
  ) {
    fail('audit tenantId must be a valid tenant id; put unvalidated input in resource');
  }
  for (const name of OPTIONAL_STRINGS) {
    const v = e[name];
    if (v !== undefined) checkString(name, v, name === 'kmsKeyRef' ? 1024 : MAX_FIELD);
  }
  if (e.details !== undefined) checkDetails(e.details, allowedDetailKeys);
}

/** The chain an event belongs to: its tenant id, or {@link PLATFORM_CHAIN}. */
export function chainOf(e: Pick<AuditEventInput, 'tenantId'>): string {
  return e.tenantId ?? PLATFORM_CHAIN;
}
