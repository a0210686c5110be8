import { z } from 'zod';
import { TenantId } from './common.js';
import { defineOperation, KMS_ERRORS, TENANT_ERRORS, type ResponseDef } from './operation.js';
import { SecretName } from './secrets.js';

const gateway = z.object({
  tenantId: TenantId,
  secretName: SecretName,
  /** The provider's own API path (e.g. `v1/chat/completions`), checked against the kind's allow-list. */
  upstreamPath: z.string(),
});

const passthrough = (description: string): ResponseDef => ({
  description,
  schema: z.unknown(),
  // The provider's own body (JSON, or text/event-stream when streaming), relayed as it came.
  contentType: '*/*',
});

/** Statuses the provider answers with that the gateway relays as they are (401/403 become AI_KEY_INVALID). */
const RELAYED = {
  200: passthrough("The provider's answer (JSON, or text/event-stream when streaming), relayed"),
  400: passthrough("The provider's own error, relayed (key-like strings scrubbed)"),
  404: passthrough(
    "The provider's own error (unknown model), relayed; or NOT_FOUND for a path off the allow-list",
  ),
  409: passthrough("The provider's own error, relayed"),
  413: passthrough("The provider's own error, relayed"),
  422: passthrough("The provider's own error, relayed"),
  429: passthrough("The provider's rate limit, relayed with its Retry-After"),
  500: passthrough("The provider's own error, relayed"),
  502: passthrough("The provider's own error, relayed; or AI_UPSTREAM_UNAVAILABLE"),
  503: passthrough("The provider's own error, relayed"),
  504: passthrough("The provider's own error, relayed; or AI_UPSTREAM_TIMEOUT"),
  529: passthrough("Anthropic's overloaded error, relayed"),
} as const;

const GATEWAY_ERRORS = [
  ...TENANT_ERRORS,
  ...KMS_ERRORS,
  'INVALID_CIPHERTEXT',
  'PURPOSE_NOT_ALLOWED',
  'CONFLICT',
  'UNSUPPORTED_MEDIA_TYPE',
  'AI_KEY_INVALID',
  'AI_KEY_SUSPENDED',
  'AI_UPSTREAM_UNAVAILABLE',
  'AI_UPSTREAM_TIMEOUT',
  'BUDGET_EXCEEDED',
  'MODEL_NOT_PRICED',
] as const;

const SUMMARY =
  "AI provider gateway: the provider's own API with the tenant's stored key injected (OpenAI base URL " +
  '`.../ai/{secretName}/v1`, Anthropic `.../ai/{secretName}`, Gemini `.../ai/{secretName}` (apiVersion v1beta), ' +
  'Azure OpenAI `.../ai/{secretName}/openai`). The service token goes where the SDK puts its API key ' +
  '(Authorization: Bearer, x-api-key, x-goog-api-key or api-key); `x-byok-purpose` declares the purpose.';

/**
 * The AI gateway: one catch-all entry per method (POST, GET, DELETE) under `/v1/tenants/{tenantId}/ai/{secretName}/`;
 * the secret's kind picks the provider, whose allow-list decides which upstream paths exist.
 */
export const aiOperations = {
  aiGatewayPost: defineOperation({
    id: 'aiGatewayPost',
    method: 'post',
    path: '/v1/tenants/{tenantId}/ai/{secretName}/{upstreamPath}',
    catchAll: true,
    tag: 'ai-gateway',
    summary: SUMMARY,
    roles: ['service'],
    params: gateway,
    responses: RELAYED,
    errors: GATEWAY_ERRORS,
    clientExclusion: "use the provider's official SDK with its base URL set to the gateway",
  }),
  aiGatewayGet: defineOperation({
    id: 'aiGatewayGet',
    method: 'get',
    path: '/v1/tenants/{tenantId}/ai/{secretName}/{upstreamPath}',
    catchAll: true,
    tag: 'ai-gateway',
    summary:
      'AI provider gateway, read operations (models list, a model, a stored OpenAI response and its input items)',
    roles: ['service'],
    params: gateway,
    responses: RELAYED,
    errors: GATEWAY_ERRORS,
    clientExclusion: "use the provider's official SDK with its base URL set to the gateway",
  }),
  aiGatewayDelete: defineOperation({
    id: 'aiGatewayDelete',
    method: 'delete',
    path: '/v1/tenants/{tenantId}/ai/{secretName}/{upstreamPath}',
    catchAll: true,
    tag: 'ai-gateway',
    summary: 'AI provider gateway, delete operations (a stored OpenAI response)',
    roles: ['service'],
    params: gateway,
    responses: RELAYED,
    errors: GATEWAY_ERRORS,
    clientExclusion: "use the provider's official SDK with its base URL set to the gateway",
  }),
};
