import { bodyStream, errorCodeOf, type AiProviderModule } from './provider-module.js';

const DEPLOYMENT_CALL =
  /^\/openai\/deployments\/([A-Za-z0-9._-]{1,64})\/(chat\/completions|embeddings|completions)$/;

/** Azure OpenAI: `api-key`, the resource endpoint stored with the secret, deployments paths, api-version. */
export const azureOpenaiProvider: AiProviderModule = {
  kind: 'azure-openai',
  defaultBaseUrl: undefined,
  callerCredentialHeader: 'api-key',
  keyHeaders: (key) => ({ 'api-key': key }),
  forwardHeaders: [],
  forwardQuery: ['api-version'],
  route(method, path) {
    if (method === 'POST') {
      const m = DEPLOYMENT_CALL.exec(path);
      return m ? { operation: (m[2] as string).replace('/', '.'), pathModel: m[1] } : undefined;
    }
    if (method === 'GET' && (path === '/openai/models' || path === '/openai/deployments'))
      return { operation: 'models' };
    return undefined;
  },
  isStream: (_route, body) => bodyStream(body),
  // The deployment names the model on Azure; the body's model is ignored there.
  modelOf: (route) => route.pathModel,
  // {"error":{"code":"401","message":"Access denied due to invalid subscription key ..."}}
  keyRefused: (status, body) => (status === 401 ? (errorCodeOf(body, 'code') ?? '401') : undefined),
  validation: { path: '/openai/models?api-version=2024-10-21' },
};
