import { looksLikeKeyMaterial } from '@byok/audit';
import { Purpose } from '@byok/contract';
import { zeroize } from '@byok/envelope';
import { getSecretForAi, setSecretAiState, type Db, type SecretAiRow } from '@byok/store';
import type { Request, Response } from 'express';
import { AppError, toAppError } from '../../errors.js';
import type { Logger } from '../../logger.js';
import type { Metrics } from '../../metrics.js';
import type { AuditActor, AuditRecorder } from '../audit/audit-recorder.js';
import type { CryptoService } from '../crypto/crypto-service.js';
import type { SecretService } from '../secrets/secret-service.js';
import type { TenantView } from '../tenants/tenant-directory.js';
import type { TenantScopedCache } from '../tenants/tenant-scoped-cache.js';
import { scrubKey } from './key-scrubber.js';
import type {
  AiCall,
  AiMeteringPort,
  AiProviderKind,
  AiReservation,
  UsageObserver,
} from './metering-port.js';
import { aiMethodOf, aiProviderOf, type AiProviderModule, type AiRoute } from './providers/index.js';
import { SseParser } from './sse-parser.js';
import { relaySse } from './sse-relay.js';
import { StreamKeyScrubber } from './stream-key-scrubber.js';
import type { UpstreamClient, UpstreamResponse } from './upstream-client.js';

/** Largest non-streaming upstream body relayed (embeddings of a big batch fit). */
const MAX_BUFFERED_BODY = 64 * 1024 * 1024;

/** Response headers relayed from upstream (everything else is dropped). */
const RELAYED_RESPONSE_HEADERS =
  /^(content-type|retry-after|retry-after-ms|request-id|openai-processing-ms|openai-version|x-ratelimit-[a-z-]+|anthropic-ratelimit-[a-z-]+)$/;

/** What the gateway needs. */
export interface AiGatewayDeps {
  db: Db;
  audit: AuditRecorder;
  crypto: CryptoService;
  secrets: SecretService;
  metering: AiMeteringPort;
  upstream: UpstreamClient;
  logger: Logger;
  /** Operator overrides of each provider's base URL (AI_UPSTREAM_*_URL). */
  upstreamUrls: Partial<Record<AiProviderKind, string | undefined>>;
  /**
   * Secrets' current versions and AI state, cached per instance (sealed values only): the hot path
   * reads no row. Dropped on every instance when a secret changes (`secretChanged`).
   */
  rows?: TenantScopedCache<SecretAiRow | undefined>;
  /** Called after the gateway changed a secret's AI state (caches of it are dropped everywhere). */
  secretChanged?: (tenantId: string, name: string) => Promise<void>;
  /** Prometheus metrics (calls, durations, tokens, spend; never a tenant or secret label). */
  metrics?: Metrics;
}

/** The parts of one gateway request the routes hand over. */
export interface GatewayRequest {
  view: TenantView;
  actor: AuditActor;
  secretName: string;
  /** The provider path below `/v1/tenants/{t}/ai/{secretName}`, without the query, still percent-encoded (decoded, then allow-listed, here). */
  path: string;
  /** The raw query string (without `?`). */
  search: string;
}

/** What the metrics need to know of a call that ended before it was recorded. */
interface CallTrace {
  provider: AiProviderKind | undefined;
  /** recordUse counted it. */
  counted: boolean;
}

/** Everything about one call that the final `ai.use` event records. */
interface CallRecord {
  call: AiCall;
  reservation: AiReservation;
  observer: UsageObserver;
  started: number;
  status: number;
  upstreamRequestId: string | undefined;
  reason: string | undefined;
}

/**
 * The AI provider gateway: the caller speaks the provider's own API to us, we open the tenant's
 * stored key through the audited secret path, inject it in the provider's header, and relay the
 * answer (SSE event by event, with backpressure). The key never reaches the caller, the logs or
 * the audit log; the caller's own credentials never reach the provider.
 */
export class AiGatewayService {
  constructor(private readonly d: AiGatewayDeps) {}

  /** Serves one gateway request to its end (the response is written here). */
  async handle(req: Request, res: Response, g: GatewayRequest): Promise<void> {
    const trace: CallTrace = { provider: undefined, counted: false };
    try {
      await this.serve(req, res, g, trace);
    } catch (err) {
      // Refused or failed before the call was recorded (recordUse counts the others).
      if (!trace.counted)
        this.d.metrics?.aiCalls.inc({
          provider: trace.provider ?? 'unknown',
          outcome: toAppError(err).code.toLowerCase(),
        });
      throw err;
    }
  }

  private async serve(req: Request, res: Response, g: GatewayRequest, trace: CallTrace): Promise<void> {
    const started = performance.now();
    const tenantId = g.view.tenant.id;
    const resource = `tenants/${tenantId}/secrets/${g.secretName}`;
    const row = await this.secretRow(tenantId, g.secretName);
    const provider = row ? aiProviderOf(row.kind) : undefined;
    if (!row || !provider) {
      await this.d.audit.record(g.actor, {
        tenantId,
        action: 'ai.use',
        outcome: 'failure',
        resource,
        errorCode: 'NOT_FOUND',
      });
      throw new AppError('NOT_FOUND', `no AI provider key named ${g.secretName}`);
    }
    trace.provider = provider.kind;
    const method = aiMethodOf(req.method);
    const path = safeDecodePath(g.path);
    const route = method && provider.route(method, path);
    if (!method || !route)
      throw new AppError('NOT_FOUND', `${req.method} ${g.path} is not an allowed ${provider.kind} API path`);
    if (row.aiState !== 'active') await this.refuseUnhealthy(g, resource, provider, row);

    const body = method === 'POST' && !route.bodyless ? jsonBodyOf(req) : undefined;
    const purposeHeader = req.get('x-byok-purpose');
    const purpose = purposeHeader === undefined ? undefined : Purpose.parse(purposeHeader);
    const refused = this.d.crypto.checkPurpose(g.view, g.actor, 'ai.use', resource, purpose);
    if (refused) await refused;

    const query = new URLSearchParams(g.search);
    const call: AiCall = {
      tenantId,
      secretName: g.secretName,
      secretVersion: row.version,
      provider: provider.kind,
      operation: route.operation,
      model: provider.modelOf(route, body),
      requestBody: body,
      stream: provider.isStream(route, body, query),
      actor: g.actor,
    };
    const url = this.upstreamUrl(provider, row, path, query);
    // The spend is reserved first and the key opened after: a call the cap refuses never opens the
    // key (no KMS call, no key use to audit). Running both side by side gained nothing measurable
    // (within the bench's noise) and would open keys for refused calls.
    const reservation = await this.d.metering.reserve(call);
    const reserved = performance.now();
    let key: string;
    try {
      const opened = await this.d.secrets.use(g.view, g.actor, g.secretName, row, purpose, {
        secretVersion: row.version,
        provider: provider.kind,
        operation: route.operation,
        ...(call.model ? { model: call.model } : {}),
      });
      key = opened.toString('utf8');
      zeroize(opened);
    } catch (err) {
      // A cached row may be behind a change this instance has not heard of yet: read it afresh next time.
      this.d.rows?.invalidate(tenantId, g.secretName);
      await this.d.metering.release(reservation);
      throw err;
    }

    const keyOpened = performance.now();
    const aborted = new AbortController();
    res.on('close', () => {
      if (!res.writableFinished) aborted.abort();
    });
    let up: UpstreamResponse;
    try {
      up = await this.d.upstream.send(url, {
        method,
        headers: upstreamHeaders(req, provider, key, body !== undefined),
        body: body === undefined ? undefined : Buffer.from(JSON.stringify(body), 'utf8'),
        signal: aborted.signal,
      });
    } catch (err) {
      await this.d.metering.release(reservation);
      const appErr = toAppError(err);
      trace.counted = true;
      this.recordUse(
        g,
        resource,
        route,
        {
          call,
          reservation,
          observer: NONE,
          started,
          status: 0,
          upstreamRequestId: undefined,
          reason: appErr.code,
        },
        false,
      );
      throw appErr;
    }

    // What the gateway added before the provider answered, for the caller's own latency tooling
    // (W3C Server-Timing; durations only): metering and lookups, opening the key with its audit
    // commit, and the provider's time to its response headers.
    res.setHeader(
      'server-timing',
      `prep;dur=${ms(reserved - started)}, key;dur=${ms(keyOpened - reserved)}, upstream;dur=${ms(performance.now() - keyOpened)}`,
    );
    const record: CallRecord = {
      call,
      reservation,
      observer: this.d.metering.observer(call),
      started,
      status: up.status,
      upstreamRequestId: headerOf(up.headers['x-request-id'] ?? up.headers['request-id']),
      reason: undefined,
    };
    try {
      const sse = /^text\/event-stream/i.test(headerOf(up.headers['content-type']) ?? '');
      if (up.status < 400 && sse) await this.relayStream(res, up, record, key);
      else await this.relayBuffered(res, up, record, key, provider, g, resource, row);
    } catch (err) {
      record.reason ??= toAppError(err).code;
      throw err;
    } finally {
      trace.counted = true;
      this.recordUse(g, resource, route, record, true);
    }
  }

  /**
   * Checks a key the caller is about to store against the provider's cheapest authenticated
   * endpoint (`validate: true` on PUT secret): a refused key is 424 AI_KEY_INVALID and nothing is
   * stored; an unreachable provider is AI_UPSTREAM_*. Audited as `ai.key.validate`.
   */
  async validateKey(
    view: TenantView,
    actor: AuditActor,
    secretName: string,
    kind: string,
    key: string,
    endpoint: string | undefined,
  ): Promise<void> {
    const provider = aiProviderOf(kind);
    if (!provider) throw new AppError('VALIDATION_FAILED', 'only AI provider keys can be validated');
    const resource = `tenants/${view.tenant.id}/secrets/${secretName}`;
    const base = this.d.upstreamUrls[provider.kind] ?? provider.defaultBaseUrl ?? endpoint;
    if (!base)
      throw new AppError('VALIDATION_FAILED', `a ${provider.kind} key needs its endpoint to be validated`);
    const audit = (outcome: 'success' | 'failure', status: number, reason?: string, errorCode?: string) =>
      this.d.audit.record(actor, {
        tenantId: view.tenant.id,
        action: 'ai.key.validate',
        outcome,
        resource,
        ...(errorCode ? { errorCode } : {}),
        details: {
          provider: provider.kind,
          httpStatus: status,
          ...(reason ? { reason: safeDetail(reason) } : {}),
        },
      });
    let up: UpstreamResponse;
    try {
      up = await this.d.upstream.send(new URL(`${base}${provider.validation.path}`), {
        method: 'GET',
        headers: { accept: 'application/json', 'accept-encoding': 'identity', ...provider.keyHeaders(key) },
        body: undefined,
        signal: new AbortController().signal,
      });
    } catch (err) {
      const appErr = toAppError(err);
      await audit('failure', 0, undefined, appErr.code);
      throw appErr;
    }
    const raw = await readCapped(up);
    if (up.status < 400) return audit('success', up.status);
    const refusal = provider.keyRefused(up.status, parseJson(raw));
    if (refusal !== undefined) {
      await audit('failure', up.status, refusal, 'AI_KEY_INVALID');
      throw new AppError(
        'AI_KEY_INVALID',
        `the ${provider.kind} API refused this key (${refusal}); nothing was stored`,
      );
    }
    await audit('failure', up.status, `upstream-${up.status}`, 'AI_UPSTREAM_UNAVAILABLE');
    throw new AppError(
      'AI_UPSTREAM_UNAVAILABLE',
      `the ${provider.kind} API answered ${up.status}; the key could not be checked`,
    );
  }

  /** The secret's current version and AI state (cached when the service gave a cache). */
  private secretRow(tenantId: string, name: string): Promise<SecretAiRow | undefined> {
    const read = () => getSecretForAi(this.d.db, tenantId, name);
    return this.d.rows ? this.d.rows.get(tenantId, name, read) : read();
  }

  /** The upstream URL: operator's base (or the provider's default, or the stored Azure endpoint) + allow-listed path + relayed query. */
  private upstreamUrl(
    provider: AiProviderModule,
    row: SecretAiRow,
    path: string,
    query: URLSearchParams,
  ): URL {
    const base = this.d.upstreamUrls[provider.kind] ?? provider.defaultBaseUrl ?? row.endpoint ?? undefined;
    if (!base)
      throw new AppError('CONFLICT', `secret has no ${provider.kind} endpoint; store a new version with one`);
    const url = new URL(`${base}${path}`);
    for (const name of provider.forwardQuery) {
      for (const v of query.getAll(name)) url.searchParams.append(name, v);
    }
    return url;
  }

  /** Refuses a call on a key marked invalid or suspended, without calling upstream (audited). */
  private async refuseUnhealthy(
    g: GatewayRequest,
    resource: string,
    provider: AiProviderModule,
    row: SecretAiRow,
  ): Promise<never> {
    const code = row.aiState === 'invalid' ? 'AI_KEY_INVALID' : 'AI_KEY_SUSPENDED';
    await this.d.audit.record(g.actor, {
      tenantId: g.view.tenant.id,
      action: 'ai.use',
      outcome: 'denied',
      resource,
      errorCode: code,
      details: { secretVersion: row.version, provider: provider.kind },
    });
    throw new AppError(
      code,
      row.aiState === 'invalid'
        ? `the provider refused version ${row.version} of this key (${row.aiStateReason ?? 'invalid'}); store a new version`
        : `this key is suspended by the tenant's policy (${row.aiStateReason ?? 'suspended'})`,
    );
  }

  /**
   * Relays an SSE stream as it arrives (see {@link relaySse}), observed by metering on the way and
   * scrubbed of the key (a provider's stream never echoes it; if one ever did, it is not relayed).
   */
  private async relayStream(
    res: Response,
    up: UpstreamResponse,
    record: CallRecord,
    key: string,
  ): Promise<void> {
    res.writeHead(up.status, relayedHeaders(up));
    res.flushHeaders();
    // Only the events metering can learn from are decoded (the observer names them).
    const observer = record.observer;
    const parser = new SseParser(
      (event, data) => observer.sseEvent(event, data),
      () => observer.sseNeedles?.(),
    );
    const reason = await relaySse(up.body, res, (chunk) => parser.push(chunk), new StreamKeyScrubber(key));
    if (reason) record.reason ??= reason;
    else parser.end();
  }

  /** Reads a whole upstream answer, handles a refused key, scrubs error bodies, and relays it. */
  private async relayBuffered(
    res: Response,
    up: UpstreamResponse,
    record: CallRecord,
    key: string,
    provider: AiProviderModule,
    g: GatewayRequest,
    resource: string,
    row: SecretAiRow,
  ): Promise<void> {
    const raw = await readCapped(up);
    const isJson = /json/i.test(headerOf(up.headers['content-type']) ?? '');
    const parsed = isJson ? parseJson(raw) : undefined;
    if (up.status >= 400) {
      const refusal = provider.keyRefused(up.status, parsed);
      if (refusal !== undefined) {
        record.reason = `key-refused:${refusal}`;
        await this.markInvalid(g, resource, provider, row, up.status, refusal);
        throw new AppError(
          'AI_KEY_INVALID',
          `the ${provider.kind} API refused the stored key (${refusal}); store a new version of the secret`,
        );
      }
      const scrubbed = Buffer.from(scrubKey(raw.toString('utf8'), key), 'utf8');
      res.writeHead(up.status, { ...relayedHeaders(up), 'content-length': String(scrubbed.length) });
      res.end(scrubbed);
      return;
    }
    if (parsed !== undefined) record.observer.json(parsed);
    // A success body never carries the key; if one ever did, it is not relayed.
    const out = raw.includes(key, 0, 'utf8') ? Buffer.from(scrubKey(raw.toString('utf8'), key), 'utf8') : raw;
    res.writeHead(up.status, { ...relayedHeaders(up), 'content-length': String(out.length) });
    res.end(out);
  }

  /** Marks the secret invalid (only while this version is current) and audits it before answering. */
  private async markInvalid(
    g: GatewayRequest,
    resource: string,
    provider: AiProviderModule,
    row: SecretAiRow,
    status: number,
    refusal: string,
  ): Promise<void> {
    const reason = `${provider.kind}:${status}:${refusal}`.slice(0, 200);
    await setSecretAiState(this.d.db, g.view.tenant.id, g.secretName, 'invalid', reason, row.version);
    this.d.rows?.invalidate(g.view.tenant.id, g.secretName);
    await this.d.secretChanged?.(g.view.tenant.id, g.secretName);
    await this.d.audit.record(g.actor, {
      tenantId: g.view.tenant.id,
      action: 'ai.key.invalid',
      outcome: 'failure',
      resource,
      errorCode: 'AI_KEY_INVALID',
      details: {
        secretVersion: row.version,
        provider: provider.kind,
        httpStatus: status,
        reason: safeDetail(refusal),
      },
    });
  }

  /** Counts a recorded call in the metrics. */
  private countUse(
    r: CallRecord,
    usage: ReturnType<UsageObserver['usage']>,
    costMicros: number | undefined,
    reachedUpstream: boolean,
  ): void {
    const m = this.d.metrics;
    if (!m) return;
    const provider = r.call.provider;
    m.aiCalls.inc({ provider, outcome: outcomeLabel(r) });
    if (!reachedUpstream) return;
    m.aiCallDuration.observe(
      { provider, stream: String(r.call.stream) },
      (performance.now() - r.started) / 1000,
    );
    if (usage) {
      m.aiTokens.inc({ provider, kind: 'input' }, usage.inputTokens);
      m.aiTokens.inc({ provider, kind: 'cached_input' }, usage.cachedInputTokens);
      m.aiTokens.inc({ provider, kind: 'output' }, usage.outputTokens);
    }
    if (costMicros) m.aiCostMicros.inc({ provider }, costMicros);
  }

  /**
   * Settles metering and writes the call's `ai.use` event after the answer is on its way (the
   * key-use event committed before the call; this one records what happened).
   */
  private recordUse(
    g: GatewayRequest,
    resource: string,
    route: AiRoute,
    r: CallRecord,
    reachedUpstream: boolean,
  ): void {
    const usage = r.observer.usage();
    const model = r.observer.model() ?? r.call.model;
    const outcome = { status: r.status, usage, model };
    const costMicros = reachedUpstream ? this.d.metering.cost(r.reservation, r.call, outcome) : undefined;
    this.countUse(r, usage, costMicros, reachedUpstream);
    // Settling and the event are independent writes, both batched: settles in metering's queue,
    // the event deferred into the next audit batch. Neither costs the next call a round trip.
    const settled = reachedUpstream
      ? this.d.metering.settle(r.reservation, r.call, outcome).then(() => undefined)
      : Promise.resolve();
    const audited = (async () => {
      const requestId = r.upstreamRequestId?.slice(0, 128);
      await this.d.audit.record(
        g.actor,
        {
          tenantId: g.view.tenant.id,
          action: 'ai.use',
          outcome: r.status > 0 && r.status < 400 && r.reason === undefined ? 'success' : 'failure',
          resource,
          ...(r.reason && /^[A-Z_]+$/.test(r.reason) ? { errorCode: r.reason } : {}),
          details: {
            secretVersion: r.call.secretVersion,
            provider: r.call.provider,
            operation: route.operation,
            ...(model ? { model: safeDetail(model) } : {}),
            stream: r.call.stream,
            httpStatus: r.status,
            ...(usage
              ? {
                  inputTokens: usage.inputTokens,
                  outputTokens: usage.outputTokens,
                  cachedInputTokens: usage.cachedInputTokens,
                }
              : {}),
            ...(costMicros !== undefined ? { costMicros } : {}),
            ...(requestId && !looksLikeKeyMaterial(requestId) ? { upstreamRequestId: requestId } : {}),
            durationMs: Math.round(performance.now() - r.started),
            ...(r.reason ? { reason: safeDetail(r.reason) } : {}),
          },
          // Nothing waits on it: it rides in the next batch (the next call's `secret.use`), so it
          // never makes that call wait behind a commit of its own.
        },
        { defer: true },
      );
    })();
    for (const [what, done] of [
      ['settle', settled],
      ['audit', audited],
    ] as const)
      done.catch((err: unknown) => {
        this.d.logger.error(
          { err: toAppError(err).code, tenantId: g.view.tenant.id },
          `ai.use ${what} failed`,
        );
      });
  }
}

/** Milliseconds with two decimals, for Server-Timing. */
const ms = (v: number) => v.toFixed(2);

/** The metric label of a call's outcome: bounded (status classes and error codes, never free text). */
function outcomeLabel(r: CallRecord): string {
  if (r.reason?.startsWith('key-refused:')) return 'ai_key_invalid';
  if (r.reason) return r.reason.toLowerCase().replace(/-/g, '_');
  if (r.status >= 500) return 'upstream_5xx';
  if (r.status >= 400) return 'upstream_4xx';
  return 'ok';
}

const NONE: UsageObserver = {
  json: () => undefined,
  sseEvent: () => undefined,
  usage: () => undefined,
  model: () => undefined,
};

/** The request's JSON object body (express.json parsed it); anything else is refused. */
function jsonBodyOf(req: Request): Record<string, unknown> {
  if (!req.is('application/json'))
    throw new AppError('UNSUPPORTED_MEDIA_TYPE', 'the AI gateway takes application/json bodies');
  const body: unknown = req.body;
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw new AppError('MALFORMED_REQUEST', 'the request body must be a JSON object');
  return body as Record<string, unknown>;
}

/** Allow-listed caller headers, the provider's key header, and nothing of the caller's credentials. */
function upstreamHeaders(
  req: Request,
  provider: AiProviderModule,
  key: string,
  hasBody: boolean,
): Record<string, string> {
  const headers: Record<string, string> = {
    accept: req.get('accept') ?? 'application/json',
    'accept-encoding': 'identity',
    'user-agent': 'byok-ai-gateway',
  };
  for (const name of provider.forwardHeaders) {
    const v = req.get(name);
    if (v !== undefined) headers[name] = v;
  }
  if (hasBody) headers['content-type'] = 'application/json';
  return { ...headers, ...provider.keyHeaders(key) };
}

function relayedHeaders(up: UpstreamResponse): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(up.headers)) {
    if (value === undefined || !RELAYED_RESPONSE_HEADERS.test(name)) continue;
    out[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  const id = headerOf(up.headers['x-request-id']);
  if (id) out['x-upstream-request-id'] = id;
  return out;
}

async function readCapped(up: UpstreamResponse): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of up.body) {
    size += (chunk as Buffer).length;
    if (size > MAX_BUFFERED_BODY) {
      up.body.destroy();
      throw new AppError(
        'AI_UPSTREAM_UNAVAILABLE',
        'the AI provider answered with a body over the size limit',
      );
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

function parseJson(raw: Buffer): unknown {
  try {
    return JSON.parse(raw.toString('utf8'));
  } catch {
    return undefined;
  }
}

function headerOf(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

/** Decodes a path for matching; a malformed escape or a dot segment matches nothing. */
function safeDecodePath(path: string): string {
  try {
    const p = decodeURIComponent(path);
    return p.includes('/.') ? '\0' : p;
  } catch {
    return '\0';
  }
}

/** A short string safe for an audit detail (provider codes, models): never anything key-like. */
function safeDetail(v: string): string {
  const s = v.slice(0, 120);
  return looksLikeKeyMaterial(s) ? '(redacted)' : s;
}
