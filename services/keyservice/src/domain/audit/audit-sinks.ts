import { randomBytes, randomUUID } from 'node:crypto';
import { EgressGuard } from '@byok/egress';
import { open, seal } from '@byok/envelope';
import { auditSinkRepository, type AuditSinkRow, type Db } from '@byok/store';
import { AppError } from '../../errors.js';

/** Delivery state of a sink as the API shows it (never the secret). */
export interface AuditSinkView {
  id: string;
  tenantId: string;
  url: string;
  enabled: boolean;
  batchSize: number;
  lastDeliveredSeq: number;
  headSeq: number;
  /** Events committed but not yet acknowledged by the receiver. */
  lag: number;
  attempts: number;
  lastError: string | null;
  lastAttemptAt: string | null;
  lastSuccessAt: string | null;
  nextAttemptAt: string;
  createdAt: string;
}

/** What a tenant admin sends to register a sink. */
export interface CreateSinkInput {
  url: string;
  batchSize?: number | undefined;
  /** `beginning` (default) replays the whole chain; `now` starts after the current head. */
  startAt?: 'beginning' | 'now' | undefined;
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

/**
 * Refuses URLs a sink may not use: HTTPS only; plain HTTP to loopback only outside production
 * (tests); no credentials in the URL; a literal address or `localhost` outside the egress
 * allow-list (names are resolved and checked by the guard at each delivery).
 */
export function checkSinkUrl(raw: string, production: boolean, egress: EgressGuard = new EgressGuard()): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new AppError('VALIDATION_FAILED', 'url must be an absolute URL', {
      errors: [{ path: 'url', message: 'invalid' }],
    });
  }
  const loopbackHttp = url.protocol === 'http:' && LOOPBACK.has(url.hostname) && !production;
  if (url.protocol !== 'https:' && !loopbackHttp) {
    throw new AppError(
      'VALIDATION_FAILED',
      'a sink url must use https (http only to 127.0.0.1 outside production)',
      {
        errors: [{ path: 'url', message: 'https required' }],
      },
    );
  }
  if (url.username || url.password) {
    throw new AppError('VALIDATION_FAILED', 'a sink url may not carry credentials', {
      errors: [{ path: 'url', message: 'credentials not allowed' }],
    });
  }
  if (!egress.isAllowedLiteralHost(url.hostname)) {
    throw new AppError(
      'VALIDATION_FAILED',
      'a sink url may not point at a private, loopback or link-local address',
      {
        errors: [{ path: 'url', message: 'address not allowed' }],
      },
    );
  }
  return url;
}

/** A sink URL as listings show it: credentials and the query string replaced by `***`. */
export function maskSinkUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return '***';
  }
  if (url.username || url.password) {
    url.username = '***';
    url.password = '';
  }
  if (url.search) url.search = '***';
  url.hash = '';
  return url.toString();
}

/** Limits and the guard of {@link AuditSinkService}. */
export interface AuditSinkLimits {
  /** Most enabled sinks per tenant (`SINKS_PER_TENANT`). */
  perTenant?: number;
  /** Checks registered addresses (default: a guard with no allowed private ranges). */
  egress?: EgressGuard;
}

const sealParams = (tenantId: string, sinkId: string) => ({
  tenantId,
  tkVersion: 0,
  context: { purpose: 'audit-sink-secret', sinkId },
});

/** SIEM sinks of a tenant: registration, state and the sealed HMAC secret. */
export class AuditSinkService {
  constructor(
    private readonly db: Db,
    private readonly secretKey: Buffer,
    private readonly production: boolean,
    private readonly limits: AuditSinkLimits = {},
  ) {}

  /** Registers a sink; the returned `secret` is shown once and stored only sealed. */
  async create(tenantId: string, input: CreateSinkInput): Promise<AuditSinkView & { secret: string }> {
    const url = checkSinkUrl(input.url, this.production, this.limits.egress);
    const cap = this.limits.perTenant ?? 5;
    // A racing second registration may pass this count: the cap bounds abuse, not an exact number.
    if ((await auditSinkRepository.countEnabled(this.db, tenantId)) >= cap) {
      throw new AppError('CONFLICT', `a tenant may have at most ${cap} enabled sinks; disable one first`);
    }
    const id = `snk_${randomUUID().replace(/-/g, '').slice(0, 20)}`;
    const secret = `whsec_${randomBytes(32).toString('base64url')}`;
    const sealed = seal(this.secretKey, Buffer.from(secret, 'utf8'), sealParams(tenantId, id));
    await auditSinkRepository.insert(this.db, {
      id,
      tenantId,
      url: url.toString(),
      secretSealed: sealed,
      batchSize: input.batchSize ?? 100,
      startAtHead: input.startAt === 'now',
    });
    return { ...((await this.get(tenantId, id)) as AuditSinkView), secret };
  }

  /** One sink of the tenant with its delivery state, or undefined. */
  async get(tenantId: string, id: string): Promise<AuditSinkView | undefined> {
    return (await this.list(tenantId, id))[0];
  }

  /** The tenant's sinks with their delivery state. */
  async list(tenantId: string, id?: string): Promise<AuditSinkView[]> {
    const rows = await auditSinkRepository.list(this.db, tenantId, id);
    return rows.map((r) => {
      const delivered = Number(r.last_delivered_seq);
      const head = Number(r.head_seq ?? 0);
      return {
        id: r.id,
        tenantId: r.tenant_id,
        url: maskSinkUrl(r.url),
        enabled: r.enabled,
        batchSize: r.batch_size,
        lastDeliveredSeq: delivered,
        headSeq: head,
        lag: Math.max(0, head - delivered),
        attempts: r.attempts,
        lastError: r.last_error,
        lastAttemptAt: r.last_attempt_at?.toISOString() ?? null,
        lastSuccessAt: r.last_success_at?.toISOString() ?? null,
        nextAttemptAt: r.next_attempt_at.toISOString(),
        createdAt: r.created_at.toISOString(),
      };
    });
  }

  /** Stops delivery to a sink (rows stay for the record). */
  async disable(tenantId: string, id: string): Promise<boolean> {
    return auditSinkRepository.disable(this.db, tenantId, id);
  }

  /**
   * Re-seals, under this service's sink key, every sink secret still sealed under `legacyKey` (the
   * key once derived from the audit signing key). Returns how many were re-sealed and how many
   * open under neither key (those stay as they are, and fail delivery visibly, never silently).
   */
  async resealLegacy(legacyKey: Buffer): Promise<{ resealed: number; unreadable: string[] }> {
    let resealed = 0;
    const unreadable: string[] = [];
    for (const row of await auditSinkRepository.listSealed(this.db)) {
      const params = sealParams(row.tenant_id, row.id);
      try {
        open(this.secretKey, row.secret_sealed, params).fill(0);
        continue;
      } catch {
        // not under the current key: try the legacy one below
      }
      let secret: Buffer;
      try {
        secret = open(legacyKey, row.secret_sealed, params);
      } catch {
        unreadable.push(row.id);
        continue;
      }
      const sealed = seal(this.secretKey, secret, params);
      secret.fill(0);
      if (await auditSinkRepository.reseal(this.db, row.id, row.secret_sealed, sealed)) resealed += 1;
    }
    return { resealed, unreadable };
  }

  /** The HMAC secret of a sink (for the dispatcher only). */
  openSecret(row: Pick<AuditSinkRow, 'id' | 'tenant_id' | 'secret_sealed'>): Buffer {
    return open(this.secretKey, row.secret_sealed, sealParams(row.tenant_id, row.id));
  }
}
