import { z } from 'zod';
import { createDocument, type ZodOpenApiOperationObject, type ZodOpenApiPathsObject } from 'zod-openapi';
import type { ErrorCode } from './problem.js';
import { ERROR_CODES, Problem, STATUS_BY_CODE } from './problem.js';
import { listenerOf, type OperationDef } from './operation.js';

/** Options of {@link createOpenApiDocument}. */
export interface OpenApiOptions {
  /** API version shown in `info.version`. */
  version: string;
  /** Include the development-only routes (the service includes them when it serves them). */
  includeDevelopment: boolean;
}

const TAGS: Record<string, string> = {
  crypto: 'Encrypt and decrypt under the tenant key',
  secrets: 'Tenant secrets (AI provider API keys first)',
  tenants: 'Tenants and their policy',
  cmk: "The tenant's customer master key",
  lifecycle: 'Kill switch and offboarding',
  rotation: 'Tenant-key rotation and its jobs',
  tokens: 'Bearer tokens',
  audit: 'The hash-chained audit log',
  'audit-sinks': 'SIEM webhooks of a tenant',
  health: 'Liveness, readiness, metrics',
  reference: 'This description of the API',
  development: 'Local development KMS (development mode only)',
};

/** Where the metrics listener answers: its own address and port, never the API's. */
const METRICS_SERVER = {
  url: 'http://{host}:{port}',
  description: 'the metrics listener (METRICS_HOST, METRICS_PORT), not the API port',
  variables: { host: { default: '127.0.0.1' }, port: { default: '9464' } },
};

/** The problem+json response of one status, narrowed to the codes the route can answer with it. */
function problemResponse(codes: ErrorCode[]) {
  return {
    description: codes.join(', '),
    content: { 'application/problem+json': { schema: Problem.extend({ code: z.enum(codes) }) } },
  };
}

function operationObject(op: OperationDef): ZodOpenApiOperationObject {
  const responses: ZodOpenApiOperationObject['responses'] = {};
  for (const [status, r] of Object.entries(op.responses)) {
    responses[status as `2${string}`] = {
      description: r.description,
      ...(r.schema ? { content: { [r.contentType ?? 'application/json']: { schema: r.schema } } } : {}),
    };
  }
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of ERROR_CODES.filter((c) => op.errors.includes(c))) {
    const status = STATUS_BY_CODE[code];
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  for (const [status, codes] of byStatus) {
    if (!op.responses[status]) responses[String(status) as `4${string}`] = problemResponse(codes);
  }
  const isPublic = op.roles.includes('public');
  return {
    operationId: op.id,
    summary: op.summary,
    description: isPublic ? 'No authentication.' : `Roles: ${op.roles.join(', ')}.`,
    tags: [op.tag],
    ...(isPublic ? { security: [] } : {}),
    requestParams: {
      ...(op.params ? { path: op.params } : {}),
      ...(op.query ? { query: op.query } : {}),
    },
    ...(op.body
      ? {
          requestBody: {
            required: !op.body.safeParse(undefined).success,
            content: { 'application/json': { schema: op.body } },
          },
        }
      : {}),
    responses,
    ...(op.development ? { 'x-development-only': true } : {}),
    ...(listenerOf(op) === 'metrics' ? { servers: [METRICS_SERVER], 'x-listener': 'metrics' } : {}),
  };
}

/** The OpenAPI 3.1 document of `operations` (bearer security, one tag per feature). */
export function createOpenApiDocument(operations: readonly OperationDef[], opts: OpenApiOptions) {
  const paths: ZodOpenApiPathsObject = {};
  const used = operations.filter((op) => opts.includeDevelopment || !op.development);
  for (const op of used) {
    paths[op.path] = { ...paths[op.path], [op.method]: operationObject(op) };
  }
  const tags = [...new Set(used.map((op) => op.tag))].map((name) => ({
    name,
    description: TAGS[name] ?? name,
  }));
  return createDocument({
    openapi: '3.1.0',
    info: {
      title: 'BYOK key service',
      version: opts.version,
      description:
        'Multi-tenant bring-your-own-key encryption and secrets. Errors are RFC 9457 problem+json with a stable `code`.',
    },
    security: [{ bearer: [] }],
    tags,
    paths,
    components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
  });
}
