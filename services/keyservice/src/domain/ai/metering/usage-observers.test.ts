import { describe, expect, it } from '@jest/globals';
import { anthropicWire, FAKE_USAGE, googleWire, openaiWire, sseEvent } from '@byok/ai-fakes';
import fc from 'fast-check';
import type { AiCall } from '../metering-port.js';
import { SseParser } from '../sse-parser.js';
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

  it('reads nothing from a retrieved (or cancelled) stored response: its usage was billed when it was created', () => {
    for (const op of ['responses.retrieve', 'responses.cancel']) {
      const o = obs('openai', op);
      o.json(response);
      o.sseEvent('response.completed', JSON.stringify({ type: 'response.completed', response }));
      expect({ op, usage: o.usage(), model: o.model(), needles: o.sseNeedles?.() }).toEqual({
        op,
        usage: undefined,
        model: undefined,
        needles: [],
      });
    }
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

/**
 * Usage and model once `wire` went through the relay's parser cut at `cuts`: handing over only the
 * events the observer's needles select, or every event.
 */
function relayed(
  provider: AiCall['provider'],
  operation: string,
  wire: string,
  cuts: readonly number[],
  selected: boolean,
) {
  const o = obs(provider, operation);
  const parser = new SseParser(
    (event, data) => o.sseEvent(event, data),
    selected ? () => o.sseNeedles?.() : undefined,
  );
  const buf = Buffer.from(wire, 'utf8');
  const points = [0, ...cuts.map((c) => c % (buf.length + 1)).sort((a, b) => a - b), buf.length];
  for (let i = 1; i < points.length; i++) parser.push(buf.subarray(points[i - 1], points[i]));
  parser.end();
  return { usage: o.usage(), model: o.model() };
}

describe('SSE needles (the relay decodes only the events they select)', () => {
  const OPENAI_CHAT = [
    sseEvent(
      JSON.stringify({ model: 'gpt-4o-mini-2024-07-18', choices: [{ delta: { role: 'assistant' } }] }),
    ),
    sseEvent(
      JSON.stringify({
        model: 'gpt-4o-mini-2024-07-18',
        choices: [{ delta: { content: 'Hi' } }],
        usage: null,
      }),
    ),
    sseEvent(
      JSON.stringify({ model: 'other-model', choices: [{ delta: { content: 'the "usage": word' } }] }),
    ),
    sseEvent(
      JSON.stringify({
        model: 'gpt-4o-mini-2024-07-18',
        choices: [],
        usage: { prompt_tokens: 9, completion_tokens: 4 },
      }),
    ),
    sseEvent(
      JSON.stringify({
        model: 'gpt-4o',
        choices: [],
        usage: { prompt_tokens: 7, completion_tokens: 1, prompt_tokens_details: { cached_tokens: 3 } },
      }),
      undefined,
      '\r\n',
    ),
    sseEvent('not json {"usage":{'),
    sseEvent('[DONE]'),
  ];
  const response = (status: string, usage: object | null) =>
    JSON.stringify({ type: `response.${status}`, response: { model: 'gpt-4.1', status, usage } });
  const OPENAI_RESPONSES = [
    sseEvent(response('created', null), 'response.created'),
    sseEvent(
      JSON.stringify({ type: 'response.output_text.delta', delta: 'Hi' }),
      'response.output_text.delta',
    ),
    sseEvent(response('completed', { input_tokens: 30, output_tokens: 5 }), 'response.completed'),
    // No usage member at all: only `"response"` says it may name the model.
    sseEvent(JSON.stringify({ type: 'response.in_progress', response: { model: 'gpt-4.1-mini' } })),
    sseEvent(
      response('incomplete', {
        input_tokens: 31,
        output_tokens: 6,
        input_tokens_details: { cached_tokens: 8 },
      }),
    ),
  ];
  const start = (input: number) =>
    JSON.stringify({
      type: 'message_start',
      message: { model: 'claude-3-5-haiku', usage: { input_tokens: input, output_tokens: 1 } },
    });
  const ANTHROPIC = [
    sseEvent(start(25), 'message_start'),
    sseEvent(JSON.stringify({ type: 'ping' }), 'ping'),
    sseEvent(
      JSON.stringify({ type: 'content_block_delta', delta: { text: 'message_delta' } }),
      'content_block_delta',
    ),
    sseEvent(JSON.stringify({ type: 'message_delta', usage: { output_tokens: 7 } }), 'message_delta'),
    // Unnamed events are read by their data's type.
    sseEvent(
      JSON.stringify({ type: 'message_delta', usage: { output_tokens: 11, cache_read_input_tokens: 4 } }),
    ),
    sseEvent(start(40)),
    sseEvent(JSON.stringify({ type: 'message_stop' }), 'message_stop'),
  ];
  const gemini = (model: string | undefined, usage?: object) =>
    sseEvent(
      JSON.stringify({
        candidates: [],
        ...(usage ? { usageMetadata: usage } : {}),
        ...(model ? { modelVersion: model } : {}),
      }),
      undefined,
      '\r\n',
    );
  const GEMINI = [
    gemini(undefined),
    gemini('gemini-2.0-flash', { promptTokenCount: 8 }),
    gemini('gemini-2.5-pro'),
    gemini(undefined, { promptTokenCount: 8, candidatesTokenCount: 3, thoughtsTokenCount: 2 }),
    gemini('gemini-2.5-pro', { promptTokenCount: 9, cachedContentTokenCount: 4 }),
    sseEvent('{"usageMetadata": {"promptTokenCount": 5}, "modelVersion": "spaced"}', undefined, '\r\n'),
  ];

  it.each([
    ['openai', 'chat.completions', OPENAI_CHAT],
    ['azure-openai', 'chat.completions', OPENAI_CHAT],
    ['openai', 'responses', OPENAI_RESPONSES],
    ['anthropic', 'messages', ANTHROPIC],
    ['google', 'streamGenerateContent', GEMINI],
  ] as const)(
    '%s %s: any sequence of events, cut anywhere, meters the same as handing over every event',
    (provider, operation, events) => {
      fc.assert(
        fc.property(
          fc.array(fc.constantFrom(...events), { maxLength: 12 }),
          fc.array(fc.nat(), { maxLength: 6 }),
          (sequence, cuts) => {
            const wire = sequence.join('');
            expect(relayed(provider, operation, wire, cuts, true)).toEqual(
              relayed(provider, operation, wire, cuts, false),
            );
          },
        ),
        { numRuns: 500 },
      );
    },
  );

  it('selects usage written with spaces after the colons (JSON need not be compact)', () => {
    const spaced = [
      sseEvent('{"candidates": [], "modelVersion": "gemini-2.0-flash"}', undefined, '\r\n'),
      sseEvent('{"usageMetadata": {"promptTokenCount": 5, "candidatesTokenCount": 2}}', undefined, '\r\n'),
    ].join('');
    expect(relayed('google', 'streamGenerateContent', spaced, [], true)).toEqual({
      usage: { inputTokens: 5, outputTokens: 2, cachedInputTokens: 0 },
      model: 'gemini-2.0-flash',
    });
    const chat = [
      sseEvent('{"model": "gpt-4o", "choices": []}'),
      sseEvent('{"choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": 1}}'),
    ].join('');
    expect(relayed('openai', 'chat.completions', chat, [], true)).toEqual({
      usage: { inputTokens: 3, outputTokens: 1, cachedInputTokens: 0 },
      model: 'gpt-4o',
    });
  });

  it("meters the fake upstream's whole streams exactly through the parser and the needles", () => {
    const usage = { ...FAKE_USAGE };
    const chat = openaiWire.chatChunks('gpt-4o-mini', true).join('');
    expect(relayed('openai', 'chat.completions', chat, [], true)).toEqual({ usage, model: 'gpt-4o-mini' });
    const claude = anthropicWire.streamEvents('claude-sonnet-4-5').join('');
    expect(relayed('anthropic', 'messages', claude, [100, 700], true)).toEqual({
      usage: { ...usage, inputTokens: usage.inputTokens + usage.cachedInputTokens },
      model: 'claude-sonnet-4-5',
    });
    const gem = googleWire.streamEvents('gemini-2.0-flash').join('');
    expect(relayed('google', 'streamGenerateContent', gem, [1, 333], true)).toEqual({
      usage,
      model: 'gemini-2.0-flash',
    });
  });
});
