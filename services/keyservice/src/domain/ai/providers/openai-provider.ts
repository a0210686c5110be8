import {
  bodyModel,
  bodyStream,
  errorCodeOf,
  type AiProviderModule,
  type AiRoute,
} from './provider-module.js';

const MODEL_ID = /^\/v1\/models\/[A-Za-z0-9._:-]{1,200}$/;

/** A stored response (`resp_...`) and its sub-resources, as the SDK's `client.responses.*` call them. */
const STORED_RESPONSE = /^\/v1\/responses\/[A-Za-z0-9_-]{1,200}(\/cancel|\/input_items)?$/;

/** What may be done to a stored response, by method and sub-resource (anything else is 404). */
const STORED_RESPONSE_ROUTES: ReadonlyMap<string, AiRoute> = new Map([
  ['GET', { operation: 'responses.retrieve' }],
  ['DELETE', { operation: 'responses.delete' }],
  ['POST /cancel', { operation: 'responses.cancel', bodyless: true }],
  ['GET /input_items', { operation: 'responses.input_items' }],
]);

/** OpenAI: `Authorization: Bearer`; chat completions, responses (and stored ones), embeddings, models. */
export const openaiProvider: AiProviderModule = {
  kind: 'openai',
  defaultBaseUrl: 'https://api.openai.com',
  callerCredentialHeader: 'authorization',
  keyHeaders: (key) => ({ authorization: `Bearer ${key}` }),
  forwardHeaders: ['openai-beta', 'idempotency-key'],
  // A stored response's options (`include[]` as the SDK sends it, `stream` to resume one) and the
  // input items' cursor.
  forwardQuery: [
    'include',
    'include[]',
    'include_obfuscation',
    'stream',
    'starting_after',
    'after',
    'before',
    'limit',
    'order',
  ],
  route(method, path) {
    const stored = STORED_RESPONSE.exec(path);
    if (stored) return STORED_RESPONSE_ROUTES.get(stored[1] ? `${method} ${stored[1]}` : method);
    if (method === 'POST') {
      if (path === '/v1/chat/completions') return { operation: 'chat.completions' };
      if (path === '/v1/responses') return { operation: 'responses' };
      if (path === '/v1/embeddings') return { operation: 'embeddings' };
      return undefined;
    }
    if (method === 'GET' && (path === '/v1/models' || MODEL_ID.test(path))) return { operation: 'models' };
    return undefined;
  },
  // A stored background response is streamed again with `?stream=true`.
  isStream: (route, body, query) =>
    route.operation === 'responses.retrieve' ? query.get('stream') === 'true' : bodyStream(body),
  modelOf: (_route, body) => bodyModel(body),
  // 401 invalid_api_key (also a revoked or deleted key); a 403 is a region or model refusal.
  keyRefused: (status, body) =>
    status === 401 ? (errorCodeOf(body, 'code') ?? 'invalid_api_key') : undefined,
  validation: { path: '/v1/models' },
};
