import { bodyModel, bodyStream, errorCodeOf, type AiProviderModule } from './provider-module.js';

/** One model (`client.models.retrieve(id)`): an id or an alias. */
const MODEL_ID = /^\/v1\/models\/[A-Za-z0-9._:@-]{1,200}$/;

/** Anthropic: `x-api-key` and `anthropic-version`; messages, token counting, models (list and one). */
export const anthropicProvider: AiProviderModule = {
  kind: 'anthropic',
  defaultBaseUrl: 'https://api.anthropic.com',
  callerCredentialHeader: 'x-api-key',
  keyHeaders: (key) => ({ 'x-api-key': key }),
  forwardHeaders: ['anthropic-version', 'anthropic-beta'],
  forwardQuery: ['beta', 'limit', 'after_id', 'before_id'],
  route(method, path) {
    if (method === 'POST') {
      if (path === '/v1/messages') return { operation: 'messages' };
      if (path === '/v1/messages/count_tokens') return { operation: 'messages.count_tokens' };
      return undefined;
    }
    if (method === 'GET' && (path === '/v1/models' || MODEL_ID.test(path))) return { operation: 'models' };
    return undefined;
  },
  isStream: (_route, body) => bodyStream(body),
  modelOf: (_route, body) => bodyModel(body),
  // {"type":"error","error":{"type":"authentication_error",...}}; 403 permission_error is about the resource.
  keyRefused: (status, body) =>
    status === 401 ? (errorCodeOf(body, 'type') ?? 'authentication_error') : undefined,
  validation: { path: '/v1/models' },
};
