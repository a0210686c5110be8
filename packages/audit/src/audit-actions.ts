import { AuditInputError } from './audit-errors.js';
import type { AuditDetailValue } from './audit-event.js';

/** What the catalogue states about one action. */
export interface AuditActionSpec {
  /** One line: what the event records. */
  summary: string;
  /** The only keys its `details` may carry (each also in {@link DEFAULT_DETAIL_KEYS}). */
  details: readonly string[];
}

/**
 * Every action the key service records, with the detail keys each may carry. Permission names of
 * the authorization rules are actions too: a refused request is recorded under the permission it
 * asked for, with outcome `denied`. A new audited operation adds its entry here first (and a row in
 * this package's README); the recorder refuses anything else, at compile time and at run time.
 */
export const AUDIT_ACTIONS = {
  // Data plane
  encrypt: { summary: 'encrypt under the tenant key (recorded when refused)', details: [] },
  decrypt: { summary: 'decrypt of one ciphertext: success, failure or refusal', details: [] },
  'decrypt.batch': {
    summary: 'one event per decrypt batch',
    details: ['itemCount', 'failedCount', 'reason'],
  },
  'kms.unwrap': { summary: 'a tenant key unwrapped by the customer KMS', details: [] },
  'kms.wrap': {
    summary: 'a tenant key wrapped by the customer KMS while a CMK is proven at registration or change',
    details: [],
  },
  'kms.health': { summary: 'the key-health probe found the customer key revoked', details: [] },
  // Secrets
  'secret.list': { summary: 'list or read secret metadata (recorded when refused)', details: [] },
  'secret.write': { summary: 'store a secret (recorded when refused)', details: [] },
  'secret.put': { summary: 'a new secret version stored', details: ['secretVersion', 'secretKind'] },
  'secret.reveal': { summary: 'a secret value opened for the caller', details: ['secretVersion'] },
  'secret.delete': { summary: 'a secret and all its versions deleted', details: [] },
  // AI gateway
  'secret.use': {
    summary: 'a secret opened inside the service to call its AI provider (before the call; fail-closed)',
    details: ['secretVersion', 'provider', 'operation', 'model'],
  },
  'ai.use': {
    summary: 'one AI gateway call: provider, model, status, tokens, cost, upstream request id, duration',
    details: [
      'secretVersion',
      'provider',
      'operation',
      'model',
      'stream',
      'httpStatus',
      'inputTokens',
      'outputTokens',
      'cachedInputTokens',
      'costMicros',
      'upstreamRequestId',
      'durationMs',
      'reason',
    ],
  },
  'ai.key.invalid': {
    summary: 'the AI provider refused the stored key: the secret is marked invalid until a new version',
    details: ['secretVersion', 'provider', 'httpStatus', 'reason'],
  },
  'ai.key.validate': {
    summary: 'a key checked against its provider before storing (PUT with validate: true)',
    details: ['provider', 'httpStatus', 'reason'],
  },
  // Customer key and tenant keys
  'cmk.read': {
    summary: 'read the CMK, its onboarding grant or a rotation job (recorded when refused)',
    details: [],
  },
  'cmk.write': {
    summary: 'register the CMK, rotate or retire tenant keys (recorded when refused)',
    details: [],
  },
  'cmk.register': { summary: 'first CMK proven and registered', details: ['itemCount'] },
  'cmk.change': { summary: 'tenant keys rewrapped under a new CMK', details: ['itemCount'] },
  'tenant-key.rotate': { summary: 'a new tenant key version created', details: ['keyVersion'] },
  'tenant-key.retire': { summary: 'tenant key versions below minVersion retired', details: ['minVersion'] },
  'tenant-key.reencrypt': {
    summary: 'one batch of stored secrets re-encrypted by a rotation job',
    details: ['itemCount', 'failedCount', 'keyVersion'],
  },
  // Tenants and policy
  'tenant.create': { summary: 'a tenant created', details: [] },
  'tenant.read': { summary: 'read a tenant (recorded when refused)', details: [] },
  'tenant.lock': {
    summary: 'kill switch engaged (recorded when refused)',
    details: ['newState'],
  },
  'tenant.restore': {
    summary: 'kill switch released, or the first of two admins asked (recorded when refused)',
    details: ['newState'],
  },
  'service.suspend': {
    summary: "a service's access to the tenant suspended, or lifted (recorded when refused)",
    details: ['newState'],
  },
  'tenant.delete': { summary: 'tenant offboarded and its keys crypto-shredded', details: ['newState'] },
  'policy.read': { summary: 'read the tenant policy (recorded when refused)', details: [] },
  'policy.write': {
    summary: 'change the tenant policy, register or disable SIEM sinks (recorded when refused)',
    details: [],
  },
  'policy.update': { summary: 'tenant policy changed', details: ['cacheTtlSeconds'] },
  'tenant.rate-limit.read': { summary: "read the tenant's rate limit (recorded when refused)", details: [] },
  'tenant.rate-limit.set': {
    summary: "the tenant's rate-limit override set or cleared (recorded when refused)",
    details: ['rps', 'burst', 'newState'],
  },
  // Tokens
  'token.bootstrap': { summary: 'the first platform-admin token created at start-up', details: [] },
  'token.create': { summary: 'a token issued (or refused)', details: ['newState'] },
  'token.read': { summary: 'list tokens (recorded when refused)', details: [] },
  'token.revoke': { summary: 'a token revoked', details: [] },
  'token.rotate': {
    summary: 'a token rotated: a new one issued, the old one ends after the overlap',
    details: ['newState'],
  },
  // Audit log
  'audit.read': {
    summary: 'read the audit log, its exports, checkpoints or sinks (recorded when refused)',
    details: [],
  },
  'audit.export': { summary: 'an audit export streamed', details: ['reason'] },
  'audit.checkpoint': {
    summary:
      'a signed checkpoint of the chain head; the checkpoint covers this event (failure: chain broken, nothing signed)',
    details: ['reason'],
  },
  'audit.key.add': {
    summary: 'a new checkpoint signing key entered the keyring at start (a rotation closes the older keys)',
    details: [],
  },
  'audit.sink.create': { summary: 'a SIEM sink registered', details: [] },
  'audit.sink.disable': { summary: 'a SIEM sink disabled', details: [] },
  // AI usage, spend caps and spike alerts
  'ai.usage.read': { summary: 'read AI usage and costs (recorded when refused)', details: [] },
  'ai.budget.read': { summary: 'read AI spend caps (recorded when refused)', details: [] },
  'ai.budget.write': { summary: 'set or remove AI spend caps (recorded when refused)', details: [] },
  'ai.budget.set': {
    summary: 'an AI spend cap set or changed (tenant-wide, or per secret)',
    details: ['secretName', 'period', 'limitMicros'],
  },
  'ai.budget.remove': { summary: 'an AI spend cap removed', details: ['secretName', 'period'] },
  'ai.budget.exceeded': {
    summary: 'an AI call refused (402) because its maximum cost would pass a spend cap',
    details: ['secretName', 'period', 'limitMicros', 'spentMicros', 'reservedMicros', 'model'],
  },
  'ai.model.unpriced': {
    summary: 'an AI call refused because a spend cap applies and its model has no price',
    details: ['secretName', 'model'],
  },
  'ai.usage.spike': {
    summary: "a secret's AI spend or request count in the current hour passed its spike threshold",
    details: [
      'secretName',
      'costMicros',
      'requestCount',
      'baselineMicros',
      'baselineRequests',
      'reason',
      'newState',
    ],
  },
  // Development KMS (never in production)
  'dev.local-kms': { summary: 'manage development KMS keys (recorded when refused)', details: [] },
  'dev.local-kms.create': { summary: 'a development KMS key created', details: [] },
  'dev.local-kms.disable': { summary: 'a development KMS key disabled', details: [] },
  'dev.local-kms.enable': { summary: 'a development KMS key enabled', details: [] },
} as const satisfies Record<string, AuditActionSpec>;

/** A catalogued action name. */
export type AuditAction = keyof typeof AUDIT_ACTIONS;

/** The detail keys allowed for `A` (a union of actions allows the union of their keys). */
export type AuditDetailKey<A extends AuditAction> = (typeof AUDIT_ACTIONS)[A]['details'][number];

/** The `details` an event of action `A` may carry; `never` for actions without details. */
export type AuditDetailsFor<A extends AuditAction> = [AuditDetailKey<A>] extends [never]
  ? never
  : Partial<Record<AuditDetailKey<A>, AuditDetailValue>>;

/** Every catalogued action name. */
export const AUDIT_ACTION_NAMES = Object.keys(AUDIT_ACTIONS) as readonly AuditAction[];

const ALLOWED = new Map<string, ReadonlySet<string>>(
  Object.entries(AUDIT_ACTIONS).map(([name, spec]) => [name, new Set<string>(spec.details)]),
);

/** True when `name` is a catalogued action. */
export function isAuditAction(name: string): name is AuditAction {
  return ALLOWED.has(name);
}

/** The detail every action may carry: how many denials one aggregated `denied` event stands for. */
export const DENIAL_COUNT_KEY = 'count';

/**
 * Throws {@link AuditInputError} unless `action` is catalogued and `details` uses only its keys
 * (or {@link DENIAL_COUNT_KEY}). The types already refuse both; this catches casts and run-time values.
 */
export function assertCataloguedEvent(action: string, details?: Readonly<Record<string, unknown>>): void {
  const allowed = ALLOWED.get(action);
  if (!allowed) throw new AuditInputError(`audit action "${action}" is not in AUDIT_ACTIONS`);
  if (!details) return;
  for (const key in details) {
    if (!allowed.has(key) && !(key === DENIAL_COUNT_KEY))
      throw new AuditInputError(`audit action "${action}" may not carry details.${key}`);
  }
}
