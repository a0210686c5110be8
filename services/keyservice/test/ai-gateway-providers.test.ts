import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import Anthropic from '@anthropic-ai/sdk';
import { GoogleGenAI } from '@google/genai';
import { FAKE_DELTAS, FAKE_USAGE } from '@byok/ai-fakes';
import { AzureOpenAI } from 'openai';
import { auditRows, eventually, KEYS, startGateway, type GatewayFixture } from './ai-gateway-harness.js';

const TEXT = FAKE_DELTAS.join('');

describe('AI gateway with the official Anthropic, Gemini and Azure OpenAI SDKs', () => {
  let f: GatewayFixture;

  beforeAll(async () => {
    f = await startGateway('gw-providers');
  });
  afterAll(async () => {
    await f?.close();
  });

  /** The requests upstream saw while `fn` ran, checked for the injected key and the absent service token. */
  async function seen<T>(fn: () => Promise<T>): Promise<{ result: T; requests: typeof f.fake.requests }> {
    const before = f.fake.requests.length;
    const result = await fn();
    const requests = f.fake.requests.slice(before);
    for (const r of requests) expect(JSON.stringify(r.headers)).not.toContain(f.tokens.service);
    return { result, requests };
  }
  const noKey = (what: string, v: unknown, key: string) =>
    expect({ what, leaks: JSON.stringify(v).includes(key) }).toEqual({ what, leaks: false });

  describe('Anthropic (@anthropic-ai/sdk; token in x-api-key)', () => {
    let client: Anthropic;
    beforeAll(() => {
      client = new Anthropic({ baseURL: f.base('claude'), apiKey: f.tokens.service, maxRetries: 0 });
    });

    it('creates a message: upstream saw x-api-key = tenant key and anthropic-version; nothing returned holds it', async () => {
      const { result, requests } = await seen(() =>
        client.messages.create({
          model: 'claude-sonnet-4-5',
          max_tokens: 64,
          messages: [{ role: 'user', content: 'hi' }],
        }),
      );
      expect(result.content[0]).toEqual({ type: 'text', text: TEXT });
      expect(result.usage.input_tokens).toBe(FAKE_USAGE.inputTokens);
      expect(requests).toHaveLength(1);
      expect(requests[0]?.headers['x-api-key']).toBe(KEYS.anthropic);
      expect(requests[0]?.headers['anthropic-version']).toBe('2023-06-01');
      expect(requests[0]?.headers.authorization).toBeUndefined();
      noKey('message', result, KEYS.anthropic);
    });

    it('streams a message with its named events, first event before upstream finishes', async () => {
      f.fake.holdStreams(true);
      try {
        const stream = await client.messages.create({
          model: 'claude-sonnet-4-5',
          max_tokens: 64,
          messages: [{ role: 'user', content: 'hi' }],
          stream: true,
        });
        const it = stream[Symbol.asyncIterator]();
        const first = await it.next();
        expect(first.value).toMatchObject({ type: 'message_start' });
        expect(f.fake.held).toBe(1);
        f.fake.release();
        const types: string[] = ['message_start'];
        let text = '';
        for (let r = await it.next(); !r.done; r = await it.next()) {
          types.push(r.value.type);
          if (r.value.type === 'content_block_delta' && r.value.delta.type === 'text_delta')
            text += r.value.delta.text;
        }
        expect(text).toBe(TEXT);
        expect(types.at(-1)).toBe('message_stop');
        expect(types).toContain('message_delta');
      } finally {
        f.fake.holdStreams(false);
        f.fake.release();
      }
    });

    it("another tenant's service token in x-api-key is refused (403) and nothing reaches upstream", async () => {
      const other = await f.s.tenant('gw-providers-other');
      const foreign = new Anthropic({ baseURL: f.base('claude'), apiKey: other.service, maxRetries: 0 });
      const before = f.fake.requests.length;
      await expect(
        foreign.messages.create({
          model: 'claude-sonnet-4-5',
          max_tokens: 8,
          messages: [{ role: 'user', content: 'hi' }],
        }),
      ).rejects.toMatchObject({ status: 403 });
      const noToken = new Anthropic({ baseURL: f.base('claude'), apiKey: 'not-a-token', maxRetries: 0 });
      await expect(
        noToken.messages.create({
          model: 'claude-sonnet-4-5',
          max_tokens: 8,
          messages: [{ role: 'user', content: 'hi' }],
        }),
      ).rejects.toMatchObject({ status: 401 });
      expect(f.fake.requests.length).toBe(before);
    });

    it('lists models and retrieves one (models.retrieve: GET /v1/models/{id}), with the tenant key', async () => {
      const { result, requests } = await seen(async () => ({
        list: await client.models.list(),
        one: await client.models.retrieve('claude-sonnet-4-5'),
      }));
      expect(result.list.data.map((m) => m.id)).toEqual(['claude-sonnet-4-5']);
      expect(result.one).toMatchObject({ type: 'model', id: 'claude-sonnet-4-5' });
      expect(requests.map((r) => `${r.method} ${r.path} ${r.key === KEYS.anthropic}`)).toEqual([
        'GET /v1/models true',
        'GET /v1/models/claude-sonnet-4-5 true',
      ]);
      const models = (rows: Awaited<ReturnType<typeof auditRows>>) =>
        rows.filter((e) => e.details?.provider === 'anthropic' && e.details.operation === 'models');
      const rows = await eventually(
        () => auditRows(f, 'ai.use'),
        (r) => models(r).length === 2,
      );
      expect(models(rows).map((e) => [e.outcome, e.details?.httpStatus])).toEqual([
        ['success', 200],
        ['success', 200],
      ]);
    });

    it('counts tokens', async () => {
      const r = await client.messages.countTokens({
        model: 'claude-sonnet-4-5',
        messages: [{ role: 'user', content: 'hi' }],
      });
      expect(r.input_tokens).toBe(FAKE_USAGE.inputTokens);
    });
  });

  describe('Google Gemini (@google/genai; token in x-goog-api-key)', () => {
    let ai: GoogleGenAI;
    beforeAll(() => {
      ai = new GoogleGenAI({ apiKey: f.tokens.service, httpOptions: { baseUrl: f.base('gemini') } });
    });

    it('generates content: upstream saw x-goog-api-key = tenant key; model from the path', async () => {
      const { result, requests } = await seen(() =>
        ai.models.generateContent({ model: 'gemini-2.0-flash', contents: 'hi' }),
      );
      expect(result.text).toBe(TEXT);
      expect(result.usageMetadata?.promptTokenCount).toBe(FAKE_USAGE.inputTokens);
      expect(requests).toHaveLength(1);
      expect(requests[0]?.path).toBe('/v1beta/models/gemini-2.0-flash:generateContent');
      expect(requests[0]?.headers['x-goog-api-key']).toBe(KEYS.google);
      expect(requests[0]?.query.get('key')).toBeNull();
      noKey('response', result, KEYS.google);
    });

    it('streams content (streamGenerateContent?alt=sse), first chunk before upstream finishes', async () => {
      f.fake.holdStreams(true);
      try {
        const stream = await ai.models.generateContentStream({ model: 'gemini-2.0-flash', contents: 'hi' });
        const it = stream[Symbol.asyncIterator]();
        const first = await it.next();
        expect(first.value?.text).toBe(FAKE_DELTAS[0]);
        expect(f.fake.held).toBe(1);
        f.fake.release();
        let text = first.value?.text ?? '';
        for (let r = await it.next(); !r.done; r = await it.next()) text += r.value.text ?? '';
        expect(text).toBe(TEXT);
      } finally {
        f.fake.holdStreams(false);
        f.fake.release();
      }
    });

    it('counts tokens', async () => {
      const r = await ai.models.countTokens({ model: 'gemini-2.0-flash', contents: 'hi' });
      expect(r.totalTokens).toBe(FAKE_USAGE.inputTokens);
    });

    it('gets one model (models.get: GET /v1beta/models/{model}) and embeds content (embedContent is sent as batchEmbedContents), with the tenant key', async () => {
      const { result, requests } = await seen(async () => ({
        model: await ai.models.get({ model: 'gemini-2.0-flash' }),
        embedded: await ai.models.embedContent({ model: 'gemini-embedding-001', contents: ['hi', 'there'] }),
      }));
      expect(result.model.name).toBe('models/gemini-2.0-flash');
      expect(result.embedded.embeddings?.map((e) => e.values)).toEqual([
        [0.0023, -0.0092, 0.0158],
        [0.0023, -0.0092, 0.0158],
      ]);
      expect(requests.map((r) => `${r.method} ${r.path} ${r.key === KEYS.google}`)).toEqual([
        'GET /v1beta/models/gemini-2.0-flash true',
        'POST /v1beta/models/gemini-embedding-001:batchEmbedContents true',
      ]);
      const rows = await eventually(
        () => auditRows(f, 'ai.use'),
        (r) => r.some((e) => e.details?.operation === 'batchEmbedContents'),
      );
      expect(rows.find((e) => e.details?.operation === 'batchEmbedContents')).toMatchObject({
        outcome: 'success',
        details: { provider: 'google', model: 'gemini-embedding-001', httpStatus: 200 },
      });
    });

    it("maps Gemini's invalid-key answer (400 API_KEY_INVALID) to 424 and marks the secret invalid", async () => {
      f.fake.validKeys.delete(KEYS.google);
      try {
        await expect(
          ai.models.generateContent({ model: 'gemini-2.0-flash', contents: 'hi' }),
        ).rejects.toThrow(/424/);
        const before = f.fake.requests.length;
        await expect(
          ai.models.generateContent({ model: 'gemini-2.0-flash', contents: 'hi' }),
        ).rejects.toThrow(/424/);
        expect(f.fake.requests.length).toBe(before);
      } finally {
        f.fake.validKeys.add(KEYS.google);
      }
    });
  });

  describe('Azure OpenAI (AzureOpenAI client; token in api-key; deployments path; api-version)', () => {
    let client: AzureOpenAI;
    beforeAll(() => {
      client = new AzureOpenAI({
        baseURL: `${f.base('azure')}/openai`,
        apiKey: f.tokens.service,
        apiVersion: '2024-10-21',
        deployment: 'gpt-4o-prod',
        maxRetries: 0,
      });
    });

    it('completes a chat on a deployment: upstream saw api-key = tenant key and the api-version', async () => {
      const { result, requests } = await seen(() =>
        client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] }),
      );
      expect(result.choices[0]?.message.content).toBe(TEXT);
      expect(requests[0]?.path).toBe('/openai/deployments/gpt-4o-prod/chat/completions');
      expect(requests[0]?.query.get('api-version')).toBe('2024-10-21');
      expect(requests[0]?.headers['api-key']).toBe(KEYS.azure);
      expect(requests[0]?.headers.authorization).toBeUndefined();
      noKey('completion', result, KEYS.azure);
    });

    it('streams a chat completion on a deployment', async () => {
      const stream = await client.chat.completions.create({
        model: 'gpt-4o',
        messages: [{ role: 'user', content: 'hi' }],
        stream: true,
      });
      let text = '';
      for await (const c of stream) text += c.choices[0]?.delta.content ?? '';
      expect(text).toBe(TEXT);
    });
  });
});
