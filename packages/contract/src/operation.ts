import type { z } from 'zod';
import type { ErrorCode } from './problem.js';

/** HTTP methods the API uses. */
export type HttpMethod = 'get' | 'post' | 'put' | 'delete';

/** Roles named in an operation's documentation (`public` for unauthenticated routes). */
export type OperationRole = 'platform-admin' | 'tenant-admin' | 'service' | 'auditor' | 'public';

/** The listeners of the service: the API port, and the Prometheus metrics port. */
export type OperationListener = 'api' | 'metrics';

/** One documented response of an operation. */
export interface ResponseDef {
  description: string;
  /** Body schema (an allow-list); absent for a response without a body (204). */
  schema?: z.ZodType;
  /** Media type of the body; `application/json` when absent. */
  contentType?: string;
}

/**
 * One route of the API, declared once. The service binds a handler to it, the client calls it by
 * this entry, and the OpenAPI document is generated from it.
 */
export interface OperationDef {
  /** Stable operation id (also the OpenAPI `operationId`). */
  id: string;
  method: HttpMethod;
  /** OpenAPI path template, e.g. `/v1/tenants/{tenantId}/encrypt`. */
  path: string;
  /** OpenAPI tag (one per feature). */
  tag: string;
  summary: string;
  /** Who may call it, as documentation of the role table in `domain/tokens/role-model.ts`. */
  roles: readonly OperationRole[];
  /** Path parameters, one key per `{name}` in `path`. */
  params?: z.ZodObject;
  /** Query string (validated as strings, coerced where a number is meant). */
  query?: z.ZodObject;
  /** JSON request body. */
  body?: z.ZodType;
  /** Success (and non-problem) responses by status. */
  responses: Readonly<Record<number, ResponseDef>>;
  /** Stable codes this route can answer with, as problem+json. */
  errors: readonly ErrorCode[];
  /** Served only in development mode (the local development KMS). */
  development?: boolean;
  /**
   * The listener that serves it: `api` (the default: the API port, behind TLS) or `metrics`
   * (the separate metrics listener, METRICS_HOST:METRICS_PORT, never the API port).
   */
  listener?: OperationListener;
  /**
   * The last path parameter takes the rest of the path, slashes included (the AI gateway's
   * upstream path); OpenAPI shows it as one parameter.
   */
  catchAll?: boolean;
  /** Why `@byok/client` has no method for this operation (e.g. an HTML page). */
  clientExclusion?: string;
}

/** Codes any authenticated route can answer: authentication, body parsing and the store. */
export const AUTHENTICATED_ERRORS = [
  'UNAUTHENTICATED',
  'RATE_LIMITED',
  'CLIENT_CERTIFICATE_REQUIRED',
  'FORBIDDEN',
  'VALIDATION_FAILED',
  'MALFORMED_REQUEST',
  'PAYLOAD_TOO_LARGE',
  'UNSUPPORTED_MEDIA_TYPE',
  'AUDIT_UNAVAILABLE',
  'STORE_UNAVAILABLE',
  'INTERNAL',
] as const satisfies readonly ErrorCode[];

/** Codes every route behind the tenant guard can answer (unknown tenant, kill switch). */
export const TENANT_ERRORS = [...AUTHENTICATED_ERRORS, 'NOT_FOUND', 'TENANT_LOCKED'] as const;

/** Codes of a route that opens or uses the tenant key through the customer's KMS. */
export const KMS_ERRORS = [
  'CMK_NOT_CONFIGURED',
  'KEY_REVOKED',
  'KEY_NOT_FOUND',
  'KMS_ACCESS_DENIED',
  'KMS_THROTTLED',
  'KMS_UNAVAILABLE',
  'KMS_MISCONFIGURED',
  'INVALID_CONTEXT',
] as const satisfies readonly ErrorCode[];

/** Declares an operation, keeping its literal types (id, method, path, schemas) for binder and client. */
export function defineOperation<const T extends OperationDef>(op: T): T {
  return op;
}

/** The listener that serves `op`. */
export function listenerOf(op: OperationDef): OperationListener {
  return op.listener ?? 'api';
}

/** The express form of an OpenAPI path template: `{name}` becomes `:name` (`*name` for a catch-all last one). */
export function expressPath(path: string, catchAll = false): string {
  const p = path.replace(/\{([A-Za-z0-9_]+)\}/g, ':$1');
  return catchAll ? p.replace(/:([A-Za-z0-9_]+)$/, '*$1') : p;
}

/** Fills `{name}` placeholders of `path` with URL-encoded values. */
export function fillPath(path: string, params: Readonly<Record<string, string>>): string {
  return path.replace(/\{([A-Za-z0-9_]+)\}/g, (_m, name: string) => {
    const v = params[name];
    if (v === undefined) throw new TypeError(`missing path parameter ${name}`);
    return encodeURIComponent(v);
  });
}

/** Parsed path parameters of an operation (or an empty record). */
export type ParamsOf<O extends OperationDef> = O['params'] extends z.ZodObject
  ? z.output<O['params']>
  : Record<string, never>;
/** Validated query of an operation. */
export type QueryOf<O extends OperationDef> = O['query'] extends z.ZodObject
  ? z.output<O['query']>
  : undefined;
/** Validated body of an operation. */
export type BodyOf<O extends OperationDef> = O['body'] extends z.ZodType ? z.output<O['body']> : undefined;
/** The body of an operation's first 2xx response that has one. */
export type SuccessOf<O extends OperationDef> = {
  [S in keyof O['responses']]: S extends 200 | 201 | 202
    ? O['responses'][S] extends { schema: infer Z extends z.ZodType }
      ? z.output<Z>
      : never
    : never;
}[keyof O['responses']];
