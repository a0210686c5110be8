import { bodyModel, bodyStream, errorCodeOf, type AiProviderModule } from './provider-module.js';

const MODEL_ID = /^\/v1\/models\/[A-Za-z0-9._:-]{1,200}$/;

/** OpenAI: `Authorization: Bearer`; chat completions, responses, embeddings, models. */
export const openaiProvider: AiProviderModule = {
  kind: 'openai',
  defaultBaseUrl: 'https://api.openai.com',
  callerCredentialHeader: 'authorization',
  keyHeaders: (key) => ({ authorization: `Bearer ${key}` }),
  forwardHeaders: ['openai-beta', 'idempotency-key'],
  forwardQuery: [],
  route(method, path) {
    if (method === 'POST') {
      if (path === '/v1/chat/completions') return { operation: 'chat.completions' };
      if (path === '/v1/responses') return { operation: 'responses' };
      if (path === '/v1/embeddings') return { operation: 'embeddings' };
      return undefined;
    }
    if (path === '/v1/models' || MODEL_ID.test(path)) return { operation: 'models' };
    return undefined;
  },
  isStream: (_route, body) => bodyStream(body),
  modelOf: (_route, body) => bodyModel(body),
  // 401 invalid_api_key (also a revoked or deleted key); a 403 is a region or model refusal.
  keyRefused: (status, body) =>
    status === 401 ? (errorCodeOf(body, 'code') ?? 'invalid_api_key') : undefined,
  validation: { path: '/v1/models' },
};
