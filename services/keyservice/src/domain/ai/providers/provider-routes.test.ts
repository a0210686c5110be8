import { describe, expect, it } from '@jest/globals';
import { AI_PROVIDERS, aiMethodOf, type AiMethod } from './index.js';

/** `method path` to the operation each provider's allow-list gives it (undefined: 404). */
function routes(kind: keyof typeof AI_PROVIDERS, cases: readonly (readonly [string, string | undefined])[]) {
  const provider = AI_PROVIDERS[kind]!;
  return cases.map(([call, want]) => {
    const [method, path] = call.split(' ') as [AiMethod, string];
    return { call, got: provider.route(method, path)?.operation, want };
  });
}

const agree = (rows: { call: string; got: string | undefined; want: string | undefined }[]) =>
  expect(rows.map(({ call, got }) => ({ call, got }))).toEqual(
    rows.map(({ call, want }) => ({ call, got: want })),
  );

describe('AI provider allow-lists', () => {
  it('OpenAI: stored responses by method and sub-resource, a model by id; other methods on those paths are refused', () => {
    const id = 'resp_67ccd2bed1ec8190b14f964abc0542670bb6a6b452d3795b';
    agree(
      routes('openai', [
        [`GET /v1/responses/${id}`, 'responses.retrieve'],
        [`DELETE /v1/responses/${id}`, 'responses.delete'],
        [`POST /v1/responses/${id}/cancel`, 'responses.cancel'],
        [`GET /v1/responses/${id}/input_items`, 'responses.input_items'],
        ['GET /v1/models/gpt-4o-mini', 'models'],
        ['GET /v1/models/ft:gpt-4o-mini:org::abc123', 'models'],
        [`POST /v1/responses/${id}`, undefined],
        [`GET /v1/responses/${id}/cancel`, undefined],
        [`DELETE /v1/responses/${id}/input_items`, undefined],
        [`POST /v1/responses/${id}/input_items`, undefined],
        [`GET /v1/responses/${id}/other`, undefined],
        ['GET /v1/responses/', undefined],
        ['DELETE /v1/responses', undefined],
        ['DELETE /v1/models/gpt-4o-mini', undefined],
        ['DELETE /v1/chat/completions', undefined],
        ['GET /v1/chat/completions', undefined],
      ]),
    );
    expect(AI_PROVIDERS.openai!.route('POST', `/v1/responses/${id}/cancel`)?.bodyless).toBe(true);
  });

  it('Anthropic: a model by id besides the list; no DELETE anywhere', () => {
    agree(
      routes('anthropic', [
        ['GET /v1/models', 'models'],
        ['GET /v1/models/claude-sonnet-4-5-20250929', 'models'],
        ['DELETE /v1/models/claude-sonnet-4-5', undefined],
        ['DELETE /v1/messages', undefined],
        ['GET /v1/messages', undefined],
      ]),
    );
  });

  it('Gemini: one model by name, and batchEmbedContents (what the SDK sends for embedContent)', () => {
    agree(
      routes('google', [
        ['GET /v1beta/models', 'models'],
        ['GET /v1beta/models/gemini-2.0-flash', 'models'],
        ['GET /v1/models/gemini-2.0-flash', 'models'],
        ['POST /v1beta/models/gemini-embedding-001:batchEmbedContents', 'batchEmbedContents'],
        ['POST /v1beta/models/gemini-embedding-001:embedContent', 'embedContent'],
        ['GET /v1beta/models/gemini-2.0-flash:generateContent', undefined],
        ['DELETE /v1beta/models/gemini-2.0-flash', undefined],
        ['POST /v1beta/models/gemini-2.0-flash', undefined],
      ]),
    );
  });

  it('Azure OpenAI: reads are GET only', () => {
    agree(
      routes('azure-openai', [
        ['GET /openai/models', 'models'],
        ['DELETE /openai/models', undefined],
        ['DELETE /openai/deployments/gpt-4o/chat/completions', undefined],
      ]),
    );
  });

  it('knows the gateway methods; HEAD, PUT, PATCH and the rest are none of them', () => {
    expect(['GET', 'POST', 'DELETE'].map(aiMethodOf)).toEqual(['GET', 'POST', 'DELETE']);
    for (const m of ['HEAD', 'PUT', 'PATCH', 'OPTIONS', 'get']) expect(aiMethodOf(m)).toBeUndefined();
  });
});
