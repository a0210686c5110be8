/**
 * Response bodies and SSE events as each provider documents them (OpenAI API reference, Anthropic
 * Messages API and streaming docs, Gemini API `GenerateContentResponse`, Azure OpenAI REST), with
 * fixed token counts so tests can compare usage exactly.
 */

/** Token counts every fake answer reports. */
export const FAKE_USAGE = { inputTokens: 12, outputTokens: 5, cachedInputTokens: 2 } as const;

/** The text every fake completion says, split into the deltas a stream sends. */
export const FAKE_DELTAS = ['Hello', ' from', ' the', ' fake', '.'] as const;
const TEXT = FAKE_DELTAS.join('');

/** One SSE event on the wire. */
export function sseEvent(data: string, event?: string, lineEnd = '\n'): string {
  return `${event ? `event: ${event}${lineEnd}` : ''}data: ${data}${lineEnd}${lineEnd}`;
}

export const openaiWire = {
  chatCompletion: (model: string) => ({
    id: 'chatcmpl-fake0001',
    object: 'chat.completion',
    created: 1_760_000_000,
    model,
    choices: [
      {
        index: 0,
        message: { role: 'assistant', content: TEXT, refusal: null, annotations: [] },
        logprobs: null,
        finish_reason: 'stop',
      },
    ],
    usage: {
      prompt_tokens: FAKE_USAGE.inputTokens,
      completion_tokens: FAKE_USAGE.outputTokens,
      total_tokens: FAKE_USAGE.inputTokens + FAKE_USAGE.outputTokens,
      prompt_tokens_details: { cached_tokens: FAKE_USAGE.cachedInputTokens, audio_tokens: 0 },
      completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0 },
    },
    service_tier: 'default',
    system_fingerprint: 'fp_fake',
  }),
  /** The chunks of a streamed chat completion (`include_usage` adds the last usage-only chunk), then `[DONE]`. */
  chatChunks: (model: string, includeUsage: boolean, deltas: readonly string[] = FAKE_DELTAS): string[] => {
    const base = { id: 'chatcmpl-fake0001', object: 'chat.completion.chunk', created: 1_760_000_000, model };
    const chunk = (delta: object, finish: string | null) =>
      JSON.stringify({ ...base, choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }] });
    const out = [chunk({ role: 'assistant', content: '' }, null)];
    for (const d of deltas) out.push(chunk({ content: d }, null));
    out.push(chunk({}, 'stop'));
    if (includeUsage)
      out.push(
        JSON.stringify({
          ...base,
          choices: [],
          usage: openaiWire.chatCompletion(model).usage,
        }),
      );
    return [...out.map((d) => sseEvent(d)), sseEvent('[DONE]')];
  },
  /** A Responses API response; `background: true` ones start `queued`, with no output or usage yet. */
  response: (model: string, id = 'resp_fake0001', background = false) => ({
    id,
    object: 'response',
    created_at: 1_760_000_000,
    status: background ? 'queued' : 'completed',
    background,
    model,
    output: background
      ? []
      : [
          {
            type: 'message',
            id: 'msg_fake0001',
            status: 'completed',
            role: 'assistant',
            content: [{ type: 'output_text', text: TEXT, annotations: [] }],
          },
        ],
    usage: background
      ? null
      : {
          input_tokens: FAKE_USAGE.inputTokens,
          input_tokens_details: { cached_tokens: FAKE_USAGE.cachedInputTokens },
          output_tokens: FAKE_USAGE.outputTokens,
          output_tokens_details: { reasoning_tokens: 0 },
          total_tokens: FAKE_USAGE.inputTokens + FAKE_USAGE.outputTokens,
        },
  }),
  /** `DELETE /v1/responses/{id}`. */
  responseDeleted: (id: string) => ({ id, object: 'response', deleted: true }),
  /** `GET /v1/responses/{id}/input_items`: the request's input as message items, one page. */
  inputItems: (input: unknown) => {
    const messages: { role: string; content: unknown }[] =
      typeof input === 'string'
        ? [{ role: 'user', content: input }]
        : Array.isArray(input)
          ? (input as { role: string; content: unknown }[])
          : [];
    const data = messages.map((m, i) => ({
      id: `msg_fakeinput${i + 1}`,
      type: 'message',
      role: m.role,
      status: 'completed',
      content: typeof m.content === 'string' ? [{ type: 'input_text', text: m.content }] : (m.content ?? []),
    }));
    return {
      object: 'list',
      data,
      first_id: data[0]?.id ?? null,
      last_id: data.at(-1)?.id ?? null,
      has_more: false,
    };
  },
  /** OpenAI's 404 for an unknown (or deleted) stored response. */
  responseNotFound: (id: string) => ({
    error: {
      message: `Response with id '${id}' not found.`,
      type: 'invalid_request_error',
      param: null,
      code: null,
    },
  }),
  /** OpenAI's 400 for cancelling a response that was not created in background mode. */
  notCancellable: () => ({
    error: {
      message: 'Only responses created with background=true can be cancelled.',
      type: 'invalid_request_error',
      param: null,
      code: null,
    },
  }),
  /** `encoding_format: 'base64'` (the SDK's default) sends little-endian float32s in base64. */
  embeddings: (model: string, base64 = false) => ({
    object: 'list',
    data: [
      {
        object: 'embedding',
        index: 0,
        embedding: base64
          ? Buffer.from(new Float32Array([0.0023, -0.0092, 0.0158]).buffer).toString('base64')
          : [0.0023, -0.0092, 0.0158],
      },
    ],
    model,
    usage: { prompt_tokens: FAKE_USAGE.inputTokens, total_tokens: FAKE_USAGE.inputTokens },
  }),
  models: () => ({ object: 'list', data: [openaiWire.model('gpt-4o-mini')] }),
  /** `GET /v1/models/{id}`. */
  model: (id: string) => ({ id, object: 'model', created: 1_700_000_000, owned_by: 'system' }),
  /** OpenAI's 401: it names the presented key, masked but for its last four characters. */
  invalidKey: (key: string) => ({
    error: {
      message: `Incorrect API key provided: ${key.slice(0, 8)}${'*'.repeat(Math.max(4, key.length - 12))}${key.slice(-4)}. You can find your API key at https://platform.openai.com/account/api-keys.`,
      type: 'invalid_request_error',
      param: null,
      code: 'invalid_api_key',
    },
  }),
  rateLimited: () => ({
    error: {
      message: 'Rate limit reached for gpt-4o-mini on requests per min (RPM): Limit 3, Used 3, Requested 1.',
      type: 'requests',
      param: null,
      code: 'rate_limit_exceeded',
    },
  }),
};

export const anthropicWire = {
  message: (model: string) => ({
    id: 'msg_fake0001',
    type: 'message',
    role: 'assistant',
    model,
    content: [{ type: 'text', text: TEXT }],
    stop_reason: 'end_turn',
    stop_sequence: null,
    usage: {
      input_tokens: FAKE_USAGE.inputTokens,
      output_tokens: FAKE_USAGE.outputTokens,
      cache_creation_input_tokens: 0,
      cache_read_input_tokens: FAKE_USAGE.cachedInputTokens,
    },
  }),
  /** The named events of a streamed message, as documented (message_start ... message_stop). */
  streamEvents: (model: string, deltas: readonly string[] = FAKE_DELTAS): string[] => {
    const start = {
      type: 'message_start',
      message: {
        ...anthropicWire.message(model),
        content: [],
        stop_reason: null,
        usage: {
          input_tokens: FAKE_USAGE.inputTokens,
          output_tokens: 1,
          cache_creation_input_tokens: 0,
          cache_read_input_tokens: FAKE_USAGE.cachedInputTokens,
        },
      },
    };
    const ev = (o: { type: string }) => sseEvent(JSON.stringify(o), o.type);
    return [
      ev(start),
      ev({ type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } } as {
        type: string;
      }),
      ev({ type: 'ping' }),
      ...deltas.map((d) =>
        ev({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: d } } as {
          type: string;
        }),
      ),
      ev({ type: 'content_block_stop', index: 0 } as { type: string }),
      ev({
        type: 'message_delta',
        delta: { stop_reason: 'end_turn', stop_sequence: null },
        usage: { output_tokens: FAKE_USAGE.outputTokens },
      } as { type: string }),
      ev({ type: 'message_stop' }),
    ];
  },
  countTokens: () => ({ input_tokens: FAKE_USAGE.inputTokens }),
  models: () => ({
    data: [anthropicWire.model('claude-sonnet-4-5')],
    has_more: false,
    first_id: 'claude-sonnet-4-5',
    last_id: 'claude-sonnet-4-5',
  }),
  /** `GET /v1/models/{id}`. */
  model: (id: string) => ({
    type: 'model',
    id,
    display_name: 'Claude Sonnet 4.5',
    created_at: '2025-09-29T00:00:00Z',
  }),
  invalidKey: () => ({
    type: 'error',
    error: { type: 'authentication_error', message: 'invalid x-api-key' },
    request_id: 'req_fake0001',
  }),
};

export const googleWire = {
  response: (model: string, text = TEXT, withUsage = true) => ({
    candidates: [{ content: { parts: [{ text }], role: 'model' }, finishReason: 'STOP', index: 0 }],
    ...(withUsage
      ? {
          usageMetadata: {
            promptTokenCount: FAKE_USAGE.inputTokens,
            candidatesTokenCount: FAKE_USAGE.outputTokens,
            cachedContentTokenCount: FAKE_USAGE.cachedInputTokens,
            totalTokenCount: FAKE_USAGE.inputTokens + FAKE_USAGE.outputTokens,
          },
        }
      : {}),
    modelVersion: model,
    responseId: 'fakeResponse0001',
  }),
  /** `streamGenerateContent?alt=sse`: one GenerateContentResponse per event, CRLF-separated as Google sends them. */
  streamEvents: (model: string, deltas: readonly string[] = FAKE_DELTAS): string[] =>
    deltas.map((d, i) =>
      sseEvent(JSON.stringify(googleWire.response(model, d, i === deltas.length - 1)), undefined, '\r\n'),
    ),
  countTokens: () => ({ totalTokens: FAKE_USAGE.inputTokens }),
  /** `batchEmbedContents`: one embedding per request in the batch. */
  batchEmbeddings: (requests: number) => ({
    embeddings: Array.from({ length: requests }, () => ({ values: [0.0023, -0.0092, 0.0158] })),
  }),
  models: () => ({ models: [googleWire.model('gemini-2.0-flash')] }),
  /** `GET /v1beta/models/{model}`. */
  model: (model: string) => ({
    name: `models/${model}`,
    displayName: 'Gemini 2.0 Flash',
    inputTokenLimit: 1_048_576,
    outputTokenLimit: 8192,
    supportedGenerationMethods: ['generateContent', 'countTokens'],
  }),
  notFound: () => ({ error: { code: 404, message: 'not found', status: 'NOT_FOUND' } }),
  invalidKey: () => ({
    error: {
      code: 400,
      message: 'API key not valid. Please pass a valid API key.',
      status: 'INVALID_ARGUMENT',
      details: [
        {
          '@type': 'type.googleapis.com/google.rpc.ErrorInfo',
          reason: 'API_KEY_INVALID',
          domain: 'googleapis.com',
          metadata: { service: 'generativelanguage.googleapis.com' },
        },
      ],
    },
  }),
};

export const azureWire = {
  invalidKey: () => ({
    error: {
      code: '401',
      message:
        'Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource.',
    },
  }),
  notFound: () => ({ error: { code: '404', message: 'Resource not found' } }),
};
