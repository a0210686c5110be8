import type { AiCall, AiUsage, UsageObserver } from '../metering-port.js';
import { isFreeOperation } from './reservation-size.js';

/**
 * Usage read from each provider's own documented response fields, normalised to one shape:
 * `inputTokens` = every prompt token, cached ones included; `cachedInputTokens` = the part of them
 * read from the provider's prompt cache; `outputTokens` = every generated token, reasoning and
 * thinking tokens included (they are billed as output).
 *
 * - OpenAI / Azure OpenAI chat completions and embeddings: `usage.prompt_tokens`,
 *   `usage.completion_tokens`, `usage.prompt_tokens_details.cached_tokens`; streamed, the last chunk
 *   (sent when the request asks `stream_options.include_usage`) carries the same `usage`.
 * - OpenAI Responses API: `usage.input_tokens`, `usage.output_tokens`,
 *   `usage.input_tokens_details.cached_tokens`; streamed, in the `response.completed` event's `response`.
 * - Anthropic messages: `usage.input_tokens` (uncached input only) + `cache_read_input_tokens` +
 *   `cache_creation_input_tokens` = inputTokens, `cache_read_input_tokens` = cached, `output_tokens`;
 *   streamed, `message_start` carries the input side and `message_delta` the cumulative output.
 * - Gemini: `usageMetadata.promptTokenCount` (cached included), `cachedContentTokenCount`,
 *   `candidatesTokenCount` + `thoughtsTokenCount`; streamed, each chunk carries the totals so far.
 */
const num = (v: unknown): number | undefined =>
  typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? v : undefined;

const obj = (v: unknown): Record<string, unknown> | undefined =>
  v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;

const str = (v: unknown): string | undefined => (typeof v === 'string' && v.length > 0 ? v : undefined);

function parseJson(data: string): unknown {
  if (data === '[DONE]') return undefined;
  try {
    return JSON.parse(data) as unknown;
  } catch {
    return undefined;
  }
}

/** `usage` of an OpenAI chat completion, embedding or streamed chunk; undefined when absent. */
export function openAiChatUsage(body: unknown): AiUsage | undefined {
  const u = obj(obj(body)?.usage);
  const input = num(u?.prompt_tokens);
  if (!u || input === undefined) return undefined;
  return {
    inputTokens: input,
    outputTokens: num(u.completion_tokens) ?? 0,
    cachedInputTokens: num(obj(u.prompt_tokens_details)?.cached_tokens) ?? 0,
  };
}

/** `usage` of an OpenAI Responses API response object. */
export function openAiResponsesUsage(response: unknown): AiUsage | undefined {
  const u = obj(obj(response)?.usage);
  const input = num(u?.input_tokens);
  if (!u || input === undefined) return undefined;
  return {
    inputTokens: input,
    outputTokens: num(u.output_tokens) ?? 0,
    cachedInputTokens: num(obj(u.input_tokens_details)?.cached_tokens) ?? 0,
  };
}

/** Anthropic's usage object, mapped (its `input_tokens` excludes cache reads and writes). */
function anthropicParts(u: Record<string, unknown>): {
  input?: number;
  cacheRead?: number;
  cacheWrite?: number;
  output?: number;
} {
  const parts: { input?: number; cacheRead?: number; cacheWrite?: number; output?: number } = {};
  const input = num(u.input_tokens);
  const cacheRead = num(u.cache_read_input_tokens);
  const cacheWrite = num(u.cache_creation_input_tokens);
  const output = num(u.output_tokens);
  if (input !== undefined) parts.input = input;
  if (cacheRead !== undefined) parts.cacheRead = cacheRead;
  if (cacheWrite !== undefined) parts.cacheWrite = cacheWrite;
  if (output !== undefined) parts.output = output;
  return parts;
}

/** Gemini `usageMetadata`, mapped. */
export function geminiUsage(body: unknown): AiUsage | undefined {
  const u = obj(obj(body)?.usageMetadata);
  const prompt = num(u?.promptTokenCount);
  if (!u || prompt === undefined) return undefined;
  return {
    inputTokens: prompt,
    outputTokens: (num(u.candidatesTokenCount) ?? 0) + (num(u.thoughtsTokenCount) ?? 0),
    cachedInputTokens: num(u.cachedContentTokenCount) ?? 0,
  };
}

/** An OpenAI event that may carry usage: a `"usage"` member that is not null, or a Responses API `"response"` object. */
const MAY_HOLD_USAGE = /"usage"\s*:\s*\{|"response"\s*:/;
/** Bytes every event {@link MAY_HOLD_USAGE} matches contains (the relay decodes no other event). */
const OPENAI_NEEDLES = ['"usage"', '"response"'] as const;

class OpenAiObserver implements UsageObserver {
  private seen: AiUsage | undefined;
  private served: string | undefined;
  constructor(private readonly responsesApi: boolean) {}

  json(body: unknown): void {
    this.served = str(obj(body)?.model) ?? this.served;
    this.seen = (this.responsesApi ? openAiResponsesUsage(body) : openAiChatUsage(body)) ?? this.seen;
  }

  sseEvent(event: string | undefined, data: string): void {
    // Most events are content deltas: only the first (the model), those carrying a usage object
    // and the Responses API's response-level events are parsed (the relay's hot path).
    if (this.served !== undefined && !MAY_HOLD_USAGE.test(data)) return;
    const body = obj(parseJson(data));
    if (!body) return;
    if (this.responsesApi) {
      // Responses API events: `response.created` ... `response.completed` / `.incomplete` / `.failed`
      // each carry the response object; only the final ones carry its usage.
      const type = event ?? str(body.type);
      const response = obj(body.response);
      if (!response || !type?.startsWith('response.')) return;
      this.served = str(response.model) ?? this.served;
      this.seen = openAiResponsesUsage(response) ?? this.seen;
      return;
    }
    this.served = str(body.model) ?? this.served;
    this.seen = openAiChatUsage(body) ?? this.seen;
  }

  sseNeedles(): readonly string[] | undefined {
    // Every event until one named the model; then only those that may carry usage.
    return this.served === undefined ? undefined : OPENAI_NEEDLES;
  }

  usage(): AiUsage | undefined {
    return this.seen;
  }

  model(): string | undefined {
    return this.served;
  }
}

const ANTHROPIC_NEEDLES = ['message_start', 'message_delta'] as const;

class AnthropicObserver implements UsageObserver {
  private input: number | undefined;
  private cacheRead = 0;
  private cacheWrite = 0;
  private output = 0;
  private served: string | undefined;

  private take(u: Record<string, unknown> | undefined): void {
    if (!u) return;
    const p = anthropicParts(u);
    if (p.input !== undefined) this.input = p.input;
    if (p.cacheRead !== undefined) this.cacheRead = p.cacheRead;
    if (p.cacheWrite !== undefined) this.cacheWrite = p.cacheWrite;
    // message_delta's output_tokens is cumulative: the last one is the total.
    if (p.output !== undefined) this.output = p.output;
  }

  json(body: unknown): void {
    const b = obj(body);
    this.served = str(b?.model) ?? this.served;
    this.take(obj(b?.usage));
  }

  sseEvent(event: string | undefined, data: string): void {
    // Only message_start and message_delta carry usage: the deltas in between are not parsed.
    if (event !== undefined && event !== 'message_start' && event !== 'message_delta') return;
    const body = obj(parseJson(data));
    if (!body) return;
    const type = event ?? str(body.type);
    if (type === 'message_start') {
      const message = obj(body.message);
      this.served = str(message?.model) ?? this.served;
      this.take(obj(message?.usage));
    } else if (type === 'message_delta') {
      this.take(obj(body.usage));
    }
  }

  sseNeedles(): readonly string[] {
    // Those two names are in the event line (`event: message_delta`), or else in the data's `type`.
    return ANTHROPIC_NEEDLES;
  }

  usage(): AiUsage | undefined {
    if (this.input === undefined) return undefined;
    return {
      inputTokens: this.input + this.cacheRead + this.cacheWrite,
      outputTokens: this.output,
      cachedInputTokens: this.cacheRead,
    };
  }

  model(): string | undefined {
    return this.served;
  }
}

const GEMINI_NEEDLES = ['"usageMetadata"'] as const;

class GeminiObserver implements UsageObserver {
  private seen: AiUsage | undefined;
  private served: string | undefined;

  json(body: unknown): void {
    // A non-streaming streamGenerateContent answer (no `alt=sse`) is a JSON array of chunks.
    if (Array.isArray(body)) {
      for (const chunk of body) this.json(chunk);
      return;
    }
    this.served = str(obj(body)?.modelVersion) ?? this.served;
    this.seen = geminiUsage(body) ?? this.seen;
  }

  sseEvent(_event: string | undefined, data: string): void {
    if (this.served !== undefined && !data.includes(GEMINI_NEEDLES[0])) return;
    this.json(parseJson(data));
  }

  sseNeedles(): readonly string[] | undefined {
    return this.served === undefined ? undefined : GEMINI_NEEDLES;
  }

  usage(): AiUsage | undefined {
    return this.seen;
  }

  model(): string | undefined {
    return this.served;
  }
}

/** SSE events a free operation's observer decodes: none. */
const NO_EVENTS: readonly string[] = [];

/** The observer of an operation that bills nothing: it reads no usage and decodes no event. */
const NO_USAGE: UsageObserver = {
  json: () => undefined,
  sseEvent: () => undefined,
  sseNeedles: () => NO_EVENTS,
  usage: () => undefined,
  model: () => undefined,
};

/**
 * A fresh observer for one call, chosen by provider kind and operation (Azure OpenAI speaks OpenAI).
 * A free operation gets one that reads nothing: a retrieved stored response carries the `usage`
 * its creation was billed for, and must not count again in the tokens of its `ai.use` event.
 */
export function usageObserverFor(call: Pick<AiCall, 'provider' | 'operation'>): UsageObserver {
  if (isFreeOperation(call.operation)) return NO_USAGE;
  switch (call.provider) {
    case 'anthropic':
      return new AnthropicObserver();
    case 'google':
      return new GeminiObserver();
    case 'openai':
    case 'azure-openai':
      return new OpenAiObserver(call.operation === 'responses' || call.operation.startsWith('responses.'));
  }
}
