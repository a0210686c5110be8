import { describe, expect, it } from '@jest/globals';
import type { AiCall } from '../metering-port.js';
import { usageObserverFor } from './usage-observers.js';

const obs = (provider: AiCall['provider'], operation: string) => usageObserverFor({ provider, operation });

// Fixtures follow the shapes in each provider's API reference (captured field for field).
describe('OpenAI chat completions', () => {
  it('reads usage and the served model from a JSON completion', () => {
    const o = obs('openai', 'chat.completions');
    o.json({
      id: 'chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT',
      object: 'chat.completion',
      created: 1741569952,
      model: 'gpt-4o-2024-08-06',
      choices: [{ index: 0, message: { role: 'assistant', content: 'Hi' }, finish_reason: 'stop' }],
      usage: {
        prompt_tokens: 1117,
        completion_tokens: 46,
        total_tokens: 1163,
        prompt_tokens_details: { cached_tokens: 1024, audio_tokens: 0 },
        completion_tokens_details: { reasoning_tokens: 0, accepted_prediction_tokens: 0 },
      },
    });
    expect(o.usage()).toEqual({ inputTokens: 1117, outputTokens: 46, cachedInputTokens: 1024 });
    expect(o.model()).toBe('gpt-4o-2024-08-06');
  });

  it('reads the final streamed chunk of stream_options.include_usage, ignoring [DONE]', () => {
    const o = obs('openai', 'chat.completions');
    const chunk = (extra: object) =>
      JSON.stringify({
        id: 'c1',
        object: 'chat.completion.chunk',
        model: 'gpt-4o-mini-2024-07-18',
        ...extra,
      });
    o.sseEvent(undefined, chunk({ choices: [{ index: 0, delta: { content: 'Hel' } }], usage: null }));
    expect(o.usage()).toBeUndefined();
    o.sseEvent(undefined, chunk({ choices: [{ index: 0, delta: {}, finish_reason: 'stop' }], usage: null }));
    o.sseEvent(
      undefined,
      chunk({
        choices: [],
        usage: {
          prompt_tokens: 9,
          completion_tokens: 12,
          total_tokens: 21,
          prompt_tokens_details: { cached_tokens: 0 },
        },
      }),
    );
    o.sseEvent(undefined, '[DONE]');
    expect(o.usage()).toEqual({ inputTokens: 9, outputTokens: 12, cachedInputTokens: 0 });
    expect(o.model()).toBe('gpt-4o-mini-2024-07-18');
  });

  it('has no usage when a stream never sent it (include_usage not asked)', () => {
    const o = obs('azure-openai', 'chat.completions');
    o.sseEvent(undefined, JSON.stringify({ choices: [{ delta: { content: 'x' } }], model: 'gpt-4o' }));
    o.sseEvent(undefined, 'not json');
    expect(o.usage()).toBeUndefined();
  });

  it('reads embeddings usage (no output tokens)', () => {
    const o = obs('openai', 'embeddings');
    o.json({
      object: 'list',
      data: [{ object: 'embedding', index: 0, embedding: [0.0023, -0.0093] }],
      model: 'text-embedding-3-small',
      usage: { prompt_tokens: 8, total_tokens: 8 },
    });
    expect(o.usage()).toEqual({ inputTokens: 8, outputTokens: 0, cachedInputTokens: 0 });
  });

  it('ignores negative, fractional or non-numeric counts', () => {
    const o = obs('openai', 'chat.completions');
    o.json({ usage: { prompt_tokens: -1, completion_tokens: 3 } });
    expect(o.usage()).toBeUndefined();
    o.json({ usage: { prompt_tokens: '5', completion_tokens: 3 } });
    expect(o.usage()).toBeUndefined();
  });
});

describe('OpenAI Responses API', () => {
  const response = {
    id: 'resp_67ccd2bed1ec8190b14f964abc054267',
    object: 'response',
    status: 'completed',
    model: 'gpt-4.1-2025-04-14',
    output: [],
    usage: {
      input_tokens: 328,
      input_tokens_details: { cached_tokens: 128 },
      output_tokens: 52,
      output_tokens_details: { reasoning_tokens: 0 },
      total_tokens: 380,
    },
  };

  it('reads usage from a JSON response', () => {
    const o = obs('openai', 'responses');
    o.json(response);
    expect(o.usage()).toEqual({ inputTokens: 328, outputTokens: 52, cachedInputTokens: 128 });
    expect(o.model()).toBe('gpt-4.1-2025-04-14');
  });

  it('reads usage from the streamed response.completed event', () => {
    const o = obs('openai', 'responses');
    o.sseEvent(
      'response.created',
      JSON.stringify({
        type: 'response.created',
        response: { ...response, status: 'in_progress', usage: null },
      }),
    );
    o.sseEvent(
      'response.output_text.delta',
      JSON.stringify({ type: 'response.output_text.delta', delta: 'Hi', item_id: 'msg_1' }),
    );
    expect(o.usage()).toBeUndefined();
    o.sseEvent('response.completed', JSON.stringify({ type: 'response.completed', response }));
    expect(o.usage()).toEqual({ inputTokens: 328, outputTokens: 52, cachedInputTokens: 128 });
  });
});

describe('Anthropic messages', () => {
  it('adds cache reads and writes to input_tokens (which excludes them) in a JSON message', () => {
    const o = obs('anthropic', 'messages');
    o.json({
      id: 'msg_013Zva2CMHLNnXjNJJKqJ2EF',
      type: 'message',
      role: 'assistant',
      model: 'claude-sonnet-4-20250514',
      content: [{ type: 'text', text: 'Hi' }],
      stop_reason: 'end_turn',
      usage: {
        input_tokens: 13,
        cache_creation_input_tokens: 100,
        cache_read_input_tokens: 2803,
        output_tokens: 25,
      },
    });
    expect(o.usage()).toEqual({ inputTokens: 2916, outputTokens: 25, cachedInputTokens: 2803 });
    expect(o.model()).toBe('claude-sonnet-4-20250514');
  });

  it('takes input from message_start and the cumulative output of the last message_delta', () => {
    const o = obs('anthropic', 'messages');
    o.sseEvent(
      'message_start',
      JSON.stringify({
        type: 'message_start',
        message: {
          id: 'msg_1',
          type: 'message',
          role: 'assistant',
          model: 'claude-3-5-haiku-20241022',
          content: [],
          usage: {
            input_tokens: 25,
            cache_read_input_tokens: 0,
            cache_creation_input_tokens: 0,
            output_tokens: 1,
          },
        },
      }),
    );
    o.sseEvent('ping', JSON.stringify({ type: 'ping' }));
    o.sseEvent(
      'content_block_delta',
      JSON.stringify({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Hello' } }),
    );
    o.sseEvent(
      'message_delta',
      JSON.stringify({ type: 'message_delta', delta: { stop_reason: null }, usage: { output_tokens: 7 } }),
    );
    o.sseEvent(
      'message_delta',
      JSON.stringify({
        type: 'message_delta',
        delta: { stop_reason: 'end_turn' },
        usage: { output_tokens: 15 },
      }),
    );
    o.sseEvent('message_stop', JSON.stringify({ type: 'message_stop' }));
    expect(o.usage()).toEqual({ inputTokens: 25, outputTokens: 15, cachedInputTokens: 0 });
    expect(o.model()).toBe('claude-3-5-haiku-20241022');
  });

  it('has no usage before message_start', () => {
    const o = obs('anthropic', 'messages');
    o.sseEvent('message_delta', JSON.stringify({ type: 'message_delta', usage: { output_tokens: 3 } }));
    expect(o.usage()).toBeUndefined();
  });
});

describe('Gemini', () => {
  const chunk = (text: string, usage: object) =>
    JSON.stringify({
      candidates: [{ content: { parts: [{ text }], role: 'model' }, index: 0 }],
      usageMetadata: usage,
      modelVersion: 'gemini-2.0-flash-001',
      responseId: 'abc',
    });

  it('reads usageMetadata (thoughts billed as output) from a JSON answer', () => {
    const o = obs('google', 'generateContent');
    o.json({
      candidates: [{ content: { parts: [{ text: 'Hi' }], role: 'model' }, finishReason: 'STOP' }],
      usageMetadata: {
        promptTokenCount: 1200,
        candidatesTokenCount: 40,
        cachedContentTokenCount: 1000,
        thoughtsTokenCount: 60,
        totalTokenCount: 1300,
      },
      modelVersion: 'gemini-2.5-flash',
    });
    expect(o.usage()).toEqual({ inputTokens: 1200, outputTokens: 100, cachedInputTokens: 1000 });
    expect(o.model()).toBe('gemini-2.5-flash');
  });

  it('keeps the totals of the last streamed chunk', () => {
    const o = obs('google', 'generateContent');
    o.sseEvent(undefined, chunk('Hel', { promptTokenCount: 8, totalTokenCount: 8 }));
    o.sseEvent(undefined, chunk('lo', { promptTokenCount: 8, candidatesTokenCount: 2, totalTokenCount: 10 }));
    o.sseEvent(undefined, chunk('!', { promptTokenCount: 8, candidatesTokenCount: 5, totalTokenCount: 13 }));
    expect(o.usage()).toEqual({ inputTokens: 8, outputTokens: 5, cachedInputTokens: 0 });
    expect(o.model()).toBe('gemini-2.0-flash-001');
  });

  it('reads a streamGenerateContent answer sent as one JSON array', () => {
    const o = obs('google', 'generateContent');
    o.json([
      JSON.parse(chunk('a', { promptTokenCount: 4, candidatesTokenCount: 1 })),
      JSON.parse(chunk('b', { promptTokenCount: 4, candidatesTokenCount: 3 })),
    ]);
    expect(o.usage()).toEqual({ inputTokens: 4, outputTokens: 3, cachedInputTokens: 0 });
  });
});
