import type { AiProviderKind } from '../metering-port.js';

/** The HTTP methods the providers' APIs are called with through the gateway. */
export type AiMethod = 'GET' | 'POST' | 'DELETE';

/** The gateway method of a request's method; undefined for any other (HEAD, PUT, PATCH...: refused). */
export function aiMethodOf(method: string): AiMethod | undefined {
  return method === 'GET' || method === 'POST' || method === 'DELETE' ? method : undefined;
}

/** An allow-listed upstream operation a request path maps to. */
export interface AiRoute {
  /** e.g. 'chat.completions', 'messages', 'generateContent'. */
  operation: string;
  /** The model named by the path (Gemini `models/{model}:...`, Azure deployment), if any. */
  pathModel?: string | undefined;
  /** Whether the path itself asks for a stream (Gemini `streamGenerateContent`). */
  pathStream?: boolean;
  /** A POST that takes no body (OpenAI `responses/{id}/cancel`): none is read or sent upstream. */
  bodyless?: boolean;
}

/** Settings of the upstream a call goes to (operator's override or the provider's default). */
export interface UpstreamTarget {
  /** Origin (and optional base path) the allow-listed path is appended to. */
  baseUrl: string;
}

/**
 * Everything the gateway knows about one AI provider, in one module (as the KMS provider modules):
 * a fifth provider is a fifth module in {@link AI_PROVIDERS}, and nothing else switches on a kind.
 */
export interface AiProviderModule {
  kind: AiProviderKind;
  /** The provider's public API origin; operators may override it (AI_UPSTREAM_*_URL). */
  defaultBaseUrl: string | undefined;
  /** The request header the provider's SDK puts its API key in (where the service token arrives). */
  callerCredentialHeader: string;
  /** The headers that carry the tenant's key upstream. */
  keyHeaders(key: string): Record<string, string>;
  /** Request headers (lower case) relayed from the caller; everything else is dropped. */
  forwardHeaders: readonly string[];
  /** Query parameters relayed from the caller; everything else is dropped. */
  forwardQuery: readonly string[];
  /** The operation of an allow-listed `method path` (path below the gateway base, without query); undefined = 404. */
  route(method: AiMethod, path: string): AiRoute | undefined;
  /** Whether the request asks for a stream. */
  isStream(route: AiRoute, body: unknown, query: URLSearchParams): boolean;
  /** The model a request names (body or path). */
  modelOf(route: AiRoute, body: unknown): string | undefined;
  /**
   * The provider's error code when an error answer means the key itself is invalid, revoked or
   * disabled (never for a rate limit or a bad request); undefined otherwise.
   */
  keyRefused(status: number, body: unknown): string | undefined;
  /** The cheapest authenticated call, used by `PUT .../secrets/{name}` with `validate: true`. */
  validation: { path: string };
}

/** `body.model` when it is a short string. */
export function bodyModel(body: unknown): string | undefined {
  const m = (body as { model?: unknown } | null)?.model;
  return typeof m === 'string' && m.length > 0 && m.length <= 200 ? m : undefined;
}

/** `body.stream === true`. */
export function bodyStream(body: unknown): boolean {
  return (body as { stream?: unknown } | null)?.stream === true;
}

/** `body.error.code` / `.type` / `.status` (as the providers name them), capped. */
export function errorCodeOf(body: unknown, field: 'code' | 'type' | 'status'): string | undefined {
  const e = (body as { error?: Record<string, unknown> } | null)?.error;
  const v = e && typeof e === 'object' ? e[field] : undefined;
  return typeof v === 'string' || typeof v === 'number' ? String(v).slice(0, 64) : undefined;
}
