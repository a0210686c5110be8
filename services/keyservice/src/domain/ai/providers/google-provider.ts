import { errorCodeOf, type AiProviderModule } from './provider-module.js';

// `embedContent` is sent by the SDK as `batchEmbedContents` (one request holding the contents).
const MODEL_CALL =
  /^\/(v1beta|v1)\/models\/([A-Za-z0-9._-]{1,200}):(generateContent|streamGenerateContent|countTokens|embedContent|batchEmbedContents)$/;

/** The models list, or one model (`ai.models.get({ model })`). */
const MODELS = /^\/(v1beta|v1)\/models(\/[A-Za-z0-9._-]{1,200})?$/;

/** Reasons Google puts in `error.details[].reason` when the key itself is refused. */
const KEY_REASONS = new Set(['API_KEY_INVALID', 'API_KEY_EXPIRED', 'API_KEY_SERVICE_BLOCKED']);

function reasonOf(body: unknown): string | undefined {
  const details = (body as { error?: { details?: unknown } } | null)?.error?.details;
  if (!Array.isArray(details)) return undefined;
  for (const d of details) {
    const r = (d as { reason?: unknown } | null)?.reason;
    if (typeof r === 'string' && KEY_REASONS.has(r)) return r;
  }
  return undefined;
}

/** Google Gemini API: `x-goog-api-key`; generateContent, streamGenerateContent, countTokens, embeddings, models. */
export const googleProvider: AiProviderModule = {
  kind: 'google',
  defaultBaseUrl: 'https://generativelanguage.googleapis.com',
  callerCredentialHeader: 'x-goog-api-key',
  keyHeaders: (key) => ({ 'x-goog-api-key': key }),
  forwardHeaders: [],
  // Never `key`: a key in the URL would be the caller's, and URLs are logged by everyone.
  forwardQuery: ['alt', 'pageSize', 'pageToken'],
  route(method, path) {
    if (method === 'POST') {
      const m = MODEL_CALL.exec(path);
      if (!m) return undefined;
      return { operation: m[3] as string, pathModel: m[2], pathStream: m[3] === 'streamGenerateContent' };
    }
    if (method === 'GET' && MODELS.test(path)) return { operation: 'models' };
    return undefined;
  },
  isStream: (route) => route.pathStream === true,
  modelOf: (route) => route.pathModel,
  // An invalid key is a 400 INVALID_ARGUMENT with reason API_KEY_INVALID; 401/403 name the key too.
  keyRefused: (status, body) => {
    const reason = reasonOf(body);
    if (reason && (status === 400 || status === 401 || status === 403)) return reason;
    return status === 401 ? (errorCodeOf(body, 'status') ?? 'UNAUTHENTICATED') : undefined;
  },
  validation: { path: '/v1beta/models' },
};
