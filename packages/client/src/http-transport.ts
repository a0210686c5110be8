import { randomUUID } from 'node:crypto';
import type { z } from 'zod';
import { fillPath, isJsonMediaType, Problem, type OperationDef, type SuccessOf } from '@byok/contract';
import { ByokApiError } from './client-errors.js';
import {
  computeDelayMs,
  parseRetryAfter,
  RETRYABLE_STATUSES,
  resolveRetryPolicy,
  type RetryOptions,
  type RetryPolicy,
} from './retry-policy.js';

/** Where the bearer token comes from: a fixed string, or a function for tokens that rotate. */
export type TokenSource = string | (() => string | Promise<string>);

/** Options shared by the client and its transport. */
export interface TransportOptions {
  /** Service root, e.g. `https://byok.internal` or `https://gw.example/byok` (a path prefix is kept). */
  baseUrl: string;
  /** Bearer token, or a function returning the current one. */
  token: TokenSource;
  /** fetch implementation (default: the global one). */
  fetch?: typeof fetch;
  /** Retry settings for idempotent calls. */
  retries?: RetryOptions;
  /** Deadline per attempt, covering connect, headers and body. Default 10000. */
  timeoutMs?: number;
  /** Waits between retries (tests inject one to observe delays). Default: setTimeout. */
  sleep?: (ms: number) => Promise<void>;
  /** Source of jitter in [0, 1) (tests inject one). Default: Math.random. */
  random?: () => number;
}

/** One logical call of a contract operation; the transport may make several attempts at it. */
export interface CallSpec<O extends OperationDef> {
  /** The contract entry: method, path, request and response schemas all come from it. */
  op: O;
  /** Path parameters (raw values; checked against the entry, then URL-encoded). */
  params?: Readonly<Record<string, string>>;
  /** Query parameters (checked against the entry). */
  query?: object;
  /** JSON body (checked against the entry). */
  body?: unknown;
  /** Whether repeating the call is safe; only then are 429/503 and connection failures retried. */
  idempotent: boolean;
}

/** What a call resolves to: the parsed success body, or undefined for an operation answered with 204. */
export type CallResult<O extends OperationDef> = [SuccessOf<O>] extends [never] ? undefined : SuccessOf<O>;

/** A call ready to send: validated, with its URL path built from the entry. */
interface PreparedCall {
  op: OperationDef;
  method: string;
  path: string;
  query: Record<string, unknown> | undefined;
  body: unknown;
}

const BEARER = /^[A-Za-z0-9._~+/=-]+$/;

/** Sends calls to the service: auth, deadlines, retries, problem parsing, response validation. */
export class HttpTransport {
  private readonly base: string;
  private readonly fetchFn: typeof fetch;
  private readonly policy: RetryPolicy;
  private readonly timeoutMs: number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly random: () => number;

  constructor(private readonly opts: TransportOptions) {
    this.base = normaliseBaseUrl(opts.baseUrl);
    if (typeof opts.token === 'string') checkToken(opts.token);
    else if (typeof opts.token !== 'function')
      throw new ByokApiError({ code: 'CONFIG_INVALID', detail: 'token must be a string or a function' });
    this.fetchFn = opts.fetch ?? globalThis.fetch;
    this.policy = resolveRetryPolicy(opts.retries);
    this.timeoutMs = opts.timeoutMs ?? 10_000;
    if (!Number.isInteger(this.timeoutMs) || this.timeoutMs < 1)
      throw new ByokApiError({ code: 'CONFIG_INVALID', detail: 'timeoutMs must be a positive integer' });
    this.sleep = opts.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.random = opts.random ?? Math.random;
  }

  /** Runs one call to completion, retrying when the spec allows it. */
  async call<O extends OperationDef>(spec: CallSpec<O>): Promise<CallResult<O>> {
    const call = prepare(spec);
    // One id for every attempt, so the service's logs and audit events show them as one call.
    const requestId = randomUUID();
    const maxAttempts = spec.idempotent ? this.policy.maxAttempts : 1;
    for (let attempt = 1; ; attempt++) {
      let err: ByokApiError;
      try {
        return (await this.attempt(call, requestId, attempt)) as CallResult<O>;
      } catch (e) {
        if (!(e instanceof ByokApiError)) throw e;
        err = e;
      }
      const transient = RETRYABLE_STATUSES.has(err.status) || err.code === 'NETWORK';
      if (!transient || attempt >= maxAttempts) throw err;
      if (err.retryAfterMs !== undefined && err.retryAfterMs > this.policy.maxRetryAfterMs) throw err;
      await this.sleep(computeDelayMs(this.policy, attempt, this.random, err.retryAfterMs));
    }
  }

  private async attempt(spec: PreparedCall, requestId: string, attempt: number): Promise<unknown> {
    const headers: Record<string, string> = {
      accept: 'application/json, application/problem+json',
      'x-request-id': requestId,
    };
    if (!spec.op.roles.includes('public')) headers.authorization = `Bearer ${await this.currentToken()}`;
    let body: string | undefined;
    if (spec.body !== undefined) {
      body = JSON.stringify(spec.body);
      headers['content-type'] = 'application/json';
    }
    const timeout = AbortSignal.timeout(this.timeoutMs);
    let res: Response;
    let text: string;
    try {
      res = await this.fetchFn(this.url(spec), {
        method: spec.method,
        headers,
        signal: timeout,
        ...(body !== undefined ? { body } : {}),
      });
      text = await res.text();
    } catch (cause) {
      // The cause is kept for diagnosis; the message is fixed text, never the request.
      const timedOut = timeout.aborted;
      throw new ByokApiError({
        code: timedOut ? 'TIMEOUT' : 'NETWORK',
        detail: timedOut
          ? `no response to ${spec.method} ${spec.path} within ${this.timeoutMs} ms`
          : `${spec.method} ${spec.path} failed before a response arrived`,
        attempts: attempt,
        requestId,
        cause,
      });
    }
    const replyId = res.headers.get('x-request-id') ?? requestId;
    if (!res.ok) throw problemError(res, text, replyId, attempt);
    const declared = spec.op.responses[res.status];
    if (!declared)
      throw invalidResponse(
        spec,
        res.status,
        replyId,
        attempt,
        `status ${res.status} is not in the contract`,
      );
    if (!declared.schema) return undefined;
    if (!isJsonMediaType(declared.contentType ?? 'application/json')) return text;
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw invalidResponse(spec, res.status, replyId, attempt, 'body is not JSON');
    }
    const parsed = declared.schema.safeParse(json);
    if (!parsed.success) {
      const where = parsed.error.issues[0]?.path.join('.') || '(body)';
      throw invalidResponse(spec, res.status, replyId, attempt, `unexpected shape at ${where}`);
    }
    return parsed.data;
  }

  private async currentToken(): Promise<string> {
    const t = typeof this.opts.token === 'string' ? this.opts.token : await this.opts.token();
    checkToken(t);
    return t;
  }

  private url(spec: PreparedCall): string {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(spec.query ?? {})) if (v !== undefined) q.set(k, String(v));
    const qs = q.toString();
    return `${this.base}${spec.path}${qs ? `?${qs}` : ''}`;
  }
}

/** Rejects tokens that are not bearer-token characters, before fetch can echo them in its own error. */
function checkToken(token: unknown): void {
  if (typeof token !== 'string' || !BEARER.test(token))
    throw new ByokApiError({
      code: 'CONFIG_INVALID',
      detail: 'token is empty or has characters a bearer token cannot contain',
    });
}

function normaliseBaseUrl(raw: string): string {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new ByokApiError({ code: 'CONFIG_INVALID', detail: 'baseUrl is not a URL' });
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:')
    throw new ByokApiError({ code: 'CONFIG_INVALID', detail: 'baseUrl must be http or https' });
  if (u.username || u.password || u.search || u.hash)
    throw new ByokApiError({
      code: 'CONFIG_INVALID',
      detail: 'baseUrl must not carry credentials, a query or a fragment',
    });
  return `${u.origin}${u.pathname.replace(/\/+$/, '')}`;
}

function problemError(res: Response, text: string, requestId: string, attempt: number): ByokApiError {
  const retryAfterMs = parseRetryAfter(res.headers.get('retry-after'));
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  const parsed = Problem.safeParse(json);
  const base = {
    status: res.status,
    attempts: attempt,
    ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
  };
  if (!parsed.success) {
    return new ByokApiError({
      ...base,
      code: 'HTTP_ERROR',
      requestId,
      detail: `HTTP ${res.status} without a problem body`,
    });
  }
  const p = parsed.data;
  return new ByokApiError({
    ...base,
    code: p.code,
    requestId: p.requestId ?? requestId,
    title: p.title,
    problem: p,
    ...(p.detail !== undefined ? { detail: p.detail } : {}),
    ...(p.errors !== undefined ? { errors: p.errors } : {}),
  });
}

function invalidResponse(
  spec: PreparedCall,
  status: number,
  requestId: string,
  attempt: number,
  why: string,
): ByokApiError {
  return new ByokApiError({
    code: 'RESPONSE_INVALID',
    status,
    requestId,
    attempts: attempt,
    detail: `${spec.method} ${spec.path}: ${why}`,
  });
}

/** Checks a call's inputs against its entry (body, then query, then path) before anything is sent. */
function prepare(spec: CallSpec<OperationDef>): PreparedCall {
  const { op } = spec;
  const body = op.body ? check(op.body, spec.body, `${op.id} input`) : undefined;
  const query = op.query
    ? (check(op.query, spec.query ?? {}, `${op.id} query`) as Record<string, unknown>)
    : undefined;
  const params = op.params
    ? (check(op.params, spec.params ?? {}, `${op.id} path`) as Record<string, string>)
    : {};
  return { op, method: op.method.toUpperCase(), path: fillPath(op.path, params), query, body };
}

/** Validates `input`; issues carry paths, never values. */
function check(schema: z.ZodType, input: unknown, what: string): unknown {
  const r = schema.safeParse(input);
  if (r.success) return r.data;
  throw new ByokApiError({
    code: 'REQUEST_INVALID',
    detail: `${what} failed validation`,
    errors: r.error.issues.map((i) => ({
      path: i.path.map(String).join('.') || '(input)',
      message: i.message,
    })),
  });
}
