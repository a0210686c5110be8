import { randomUUID } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import { TENANT_ID_PATTERN } from '@byok/contract';
import type { KmsModuleConfigs, KmsRegistry, LocalKeyStore } from '@byok/kms';
import type { Db } from '@byok/store';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { AppError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import type { AuditActor, AuditRecorder } from '../domain/audit/audit-recorder.js';
import { auditActionOf, isAllowed, type Action } from '../domain/tokens/role-model.js';
import type { CryptoService } from '../domain/crypto/crypto-service.js';
import type { RotationJobs } from '../domain/keys/rotation-job.js';
import type { SecretService } from '../domain/secrets/secret-service.js';
import type { TenantDirectory, TenantView } from '../domain/tenants/tenant-directory.js';
import type { TenantEventReason } from '../domain/tenants/tenant-events.js';
import type { CmkManager } from '../domain/keys/cmk-manager.js';
import type { TenantKeyService } from '../domain/keys/tenant-key-service.js';
import type { Principal, TokenService } from '../domain/tokens/token-service.js';
import type { AuditQueries } from '../domain/audit/audit-queries.js';
import type { AuditSecurity } from '../domain/audit/audit-security.js';
import type { AuditLogService } from '../domain/audit/audit-log-service.js';
import type { TenantLifecycleService } from '../domain/lifecycle/tenant-lifecycle-service.js';
import type { SecretCatalog } from '../domain/secrets/secret-catalog.js';
import type { TenantService } from '../domain/tenants/tenant-service.js';
import type { TokenAdminService } from '../domain/tokens/token-admin-service.js';
import type { DenialAggregator } from '../domain/audit/denial-aggregator.js';
import type { RateLimiter } from './rate-limit.js';
import type { AiBudgetService } from '../domain/ai/metering/ai-budget-service.js';
import type { AiGatewayService } from '../domain/ai/ai-gateway-service.js';

/** Everything the routes need; built by main.ts (or a test) and passed to createApp. */
export interface AppDeps {
  db: Db;
  withTransaction: <T>(fn: (db: Db) => Promise<T>) => Promise<T>;
  logger: Logger;
  metrics: Metrics;
  tokens: TokenService;
  directory: TenantDirectory;
  tenantKeys: TenantKeyService;
  /** CMK registration and change, tenant-key versions, purpose binding. */
  cmk: CmkManager;
  crypto: CryptoService;
  secrets: SecretService;
  audit: AuditRecorder;
  auditQueries: AuditQueries;
  /** Checkpoint signing key and SIEM sinks; the export/checkpoint/sink routes answer 404 without it. */
  auditSecurity?: AuditSecurity | undefined;
  /** Tenant-key rotation, re-encryption jobs and retirement. */
  rotation: RotationJobs;
  registry: KmsRegistry;
  /** Each KMS module's parsed settings (the service's identity in each cloud, named in onboarding grants). */
  kmsModuleConfigs?: KmsModuleConfigs | undefined;
  /** Present only in development mode: the local dev KMS key store managed over HTTP. */
  localKms?: LocalKeyStore | undefined;
  bodyLimitBytes: number;
  /** Audit export limits: concurrent exports per tenant, and the deadline of one export. */
  auditExport?: { perTenant: number; deadlineMs: number } | undefined;
  /**
   * TLS_CLIENT_CA_FILE is set: a service token counts only on a connection that presented a client
   * certificate that CA issued (a leaked service token alone is then not enough).
   */
  serviceTokensNeedClientCertificate?: boolean | undefined;
  /**
   * Express `trust proxy` (TRUST_PROXY): a hop count or the proxies' addresses/CIDRs whose
   * X-Forwarded-For is believed for `req.ip`; absent or false: the socket's peer address.
   */
  trustProxy?: false | number | readonly string[] | undefined;
  /** Per-address, per-token and per-tenant token buckets; absent = no limits. */
  rateLimiter?: RateLimiter | undefined;
  /** Aggregates a token's denials against a foreign tenant; absent = one audit event per denial. */
  denials?: DenialAggregator | undefined;
  /** AI spend caps and the usage report; the usage and budget routes answer 404 without it. */
  aiBudgets?: AiBudgetService | undefined;
  /** Checks the store answers (readiness). */
  ping: () => Promise<void>;
  /** The AI provider gateway; absent, its routes answer 404. */
  aiGateway?: AiGatewayService | undefined;
  /** Purges a tenant here and on every other instance (LISTEN/NOTIFY) after a change made here. */
  publishTenantEvent: (tenantId: string, reason: TenantEventReason) => Promise<void>;
}

/** AppDeps plus the domain services createApp builds from them for the routes. */
export interface RouteDeps extends AppDeps {
  tenantService: TenantService;
  lifecycle: TenantLifecycleService;
  tokenAdmin: TokenAdminService;
  secretCatalog: SecretCatalog;
  auditLog: AuditLogService;
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * Issues the request id (always the server's own: a client could otherwise make its requests look
 * like someone else's in the audit log); a well-formed incoming X-Request-Id is kept beside it as
 * the client's id. Sets the security headers every answer carries (nosniff, no-store), logs and
 * times the request.
 */
export function requestContext(deps: Pick<AppDeps, 'logger' | 'metrics'>): RequestHandler {
  return (req, res, next) => {
    const incoming = req.get('x-request-id');
    const requestId = randomUUID();
    res.locals.requestId = requestId;
    if (incoming && REQUEST_ID.test(incoming)) res.locals.clientRequestId = incoming;
    // req.ip honours express's `trust proxy` (off unless configured): the socket's peer by default.
    if (req.ip) res.locals.clientAddress = req.ip;
    res.setHeader('X-Request-Id', requestId);
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Cache-Control', 'no-store');
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const route = (req.route?.path as string | undefined)
        ? `${req.baseUrl}${req.route.path as string}`
        : 'unmatched';
      deps.metrics.httpDuration.observe(
        { method: req.method, route, status: String(res.statusCode) },
        seconds,
      );
      deps.logger.debug(
        {
          requestId,
          clientRequestId: res.locals.clientRequestId as string | undefined,
          method: req.method,
          route,
          status: res.statusCode,
          ms: Math.round(seconds * 1000),
        },
        'request',
      );
    });
    next();
  };
}

/**
 * Resolves the bearer token into `res.locals.principal`, or answers 401; with `needClientCertificate`
 * a service token on a connection without an authorized client certificate is a 401 too.
 */
export function authenticate(
  tokens: TokenService,
  needClientCertificate = false,
  rateLimiter?: RateLimiter,
  /** Where else a token may arrive (the AI gateway: the header each provider's SDK uses). */
  otherTokenOf?: (req: Request) => string | undefined,
): RequestHandler {
  return async (req: Request, res: Response, next: NextFunction) => {
    const header = req.get('authorization') ?? '';
    const m = /^Bearer ([A-Za-z0-9._~+/=-]+)$/.exec(header);
    const other = m ? undefined : otherTokenOf?.(req);
    const token = m?.[1] ?? (other && /^[A-Za-z0-9._~+/=-]+$/.test(other) ? other : undefined);
    // Node keeps the first of several Authorization headers, a proxy in front may keep the last:
    // a request two readers would attribute to different tokens is refused, not guessed at.
    // (Repeated x-api-key style headers are joined with ", " by Node and fail the pattern above.)
    const principal = token && !repeatsAuthorization(req) ? await tokens.authenticate(token) : undefined;
    if (!principal) {
      res.setHeader('WWW-Authenticate', 'Bearer realm="byok"');
      throw new AppError('UNAUTHENTICATED', 'send Authorization: Bearer <token>');
    }
    if (needClientCertificate && principal.role === 'service' && !(req.socket as TLSSocket).authorized) {
      throw new AppError(
        'CLIENT_CERTIFICATE_REQUIRED',
        'service tokens are accepted only with a client certificate issued by the configured client CA',
      );
    }
    await rateLimiter?.perToken(principal);
    res.locals.principal = principal;
    next();
  };
}

function repeatsAuthorization(req: Request): boolean {
  let n = 0;
  for (let i = 0; i < req.rawHeaders.length; i += 2)
    if (req.rawHeaders[i]?.toLowerCase() === 'authorization' && ++n > 1) return true;
  return false;
}

/** The caller of this request. */
export function principalOf(res: Response): Principal {
  const p = res.locals.principal as Principal | undefined;
  if (!p) throw new AppError('UNAUTHENTICATED');
  return p;
}

/** Actor fields for audit events of this request: who, the server's request id, the client's id and address. */
export function actorOf(res: Response): AuditActor {
  return {
    principal: res.locals.principal as Principal | undefined,
    requestId: res.locals.requestId as string | undefined,
    clientRequestId: res.locals.clientRequestId as string | undefined,
    clientAddress: res.locals.clientAddress as string | undefined,
  };
}

/**
 * The guard every tenant route goes through: permission first (so a foreign token learns nothing
 * about the tenant and no KMS call happens), then existence, then the kill switch. Denials are audited.
 */
export async function tenantAccess(
  deps: AppDeps,
  req: Request,
  res: Response,
  action: Action,
  opts: {
    allowLocked?: boolean;
    /** False: the tenant's bucket is not charged (the platform admin changing a flooded tenant's limit). */
    tenantRateLimit?: boolean;
  } = {},
): Promise<TenantView> {
  const principal = principalOf(res);
  const tenantId = String(req.params.tenantId ?? '');
  const actor = actorOf(res);
  if (!TENANT_ID_PATTERN.test(tenantId)) {
    if (principal.role === 'platform-admin') throw new AppError('NOT_FOUND', 'tenant not found');
    await deps.audit.record(actor, {
      tenantId: null,
      action: auditActionOf(action),
      outcome: 'denied',
      resource: 'tenants/(malformed)',
      errorCode: 'FORBIDDEN',
    });
    throw new AppError('FORBIDDEN', `this token may not ${action} here`);
  }
  if (!isAllowed(principal, action, tenantId)) {
    const exists = await deps.directory.get(tenantId);
    const denial = { action: auditActionOf(action), resource: `tenants/${tenantId}` };
    if (exists && deps.denials) await deps.denials.deny(actor, { tenantId, ...denial });
    else
      await deps.audit.record(actor, {
        tenantId: exists ? tenantId : null,
        ...denial,
        outcome: 'denied',
        errorCode: 'FORBIDDEN',
      });
    throw new AppError('FORBIDDEN', `this token may not ${action} for tenant ${tenantId}`);
  }
  const view = deps.directory.peek(tenantId) ?? (await deps.directory.get(tenantId));
  if (!view || view.tenant.state === 'deleted')
    throw new AppError('NOT_FOUND', `tenant ${tenantId} not found`);
  if (opts.tenantRateLimit !== false) await deps.rateLimiter?.perTenant(tenantId, view.tenant.rateLimit);
  if (principal.role === 'service' && view.tenant.suspendedServices.includes(principal.service ?? '')) {
    await deps.audit.record(actor, {
      tenantId,
      action: auditActionOf(action),
      outcome: 'denied',
      resource: `tenants/${tenantId}/services/${principal.service ?? ''}`,
      errorCode: 'FORBIDDEN',
    });
    throw new AppError(
      'FORBIDDEN',
      `service ${principal.service ?? ''} is suspended from tenant ${tenantId}`,
    );
  }
  if (view.tenant.state === 'locked' && !opts.allowLocked) {
    await deps.audit.record(actor, {
      tenantId,
      action: auditActionOf(action),
      outcome: 'denied',
      resource: `tenants/${tenantId}`,
      errorCode: 'TENANT_LOCKED',
    });
    throw new AppError(
      'TENANT_LOCKED',
      `tenant ${tenantId} is locked by its kill switch; a tenant admin can restore it`,
    );
  }
  return view;
}

/** Refuses unless the role table gives the principal `action` at platform level; audits denials. */
export async function platformAccess(deps: AppDeps, res: Response, action: Action): Promise<Principal> {
  const principal = principalOf(res);
  if (!isAllowed(principal, action, null)) {
    await deps.audit.record(actorOf(res), {
      tenantId: null,
      action: auditActionOf(action),
      outcome: 'denied',
      resource: 'platform',
      errorCode: 'FORBIDDEN',
    });
    throw new AppError('FORBIDDEN', `this token may not ${action}`);
  }
  return principal;
}

/**
 * Sends an already serialized JSON body with status 200. For the hot paths (encrypt, decrypt),
 * where express's res.json would serialize, re-check freshness and convert the body again.
 */
export function sendJson(res: Response, json: string): void {
  res.statusCode = 200;
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.setHeader('Content-Length', Buffer.byteLength(json));
  res.end(json);
}
