import type { AiCall, AiUsage } from '../metering-port.js';

const obj = (v: unknown): Record<string, unknown> | undefined =>
  v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;

const positive = (v: unknown): number | undefined =>
  typeof v === 'number' && Number.isSafeInteger(v) && v > 0 ? v : undefined;

/** Bytes of the request body per estimated input token (a token is ~4 characters of English text). */
export const INPUT_BYTES_PER_TOKEN = 3;

/**
 * The most output a call may produce, from the request's own cap: `max_tokens` (OpenAI chat,
 * Anthropic), `max_completion_tokens` (OpenAI chat), `max_output_tokens` (Responses API), Gemini
 * `generationConfig.maxOutputTokens`; embeddings produce none; otherwise `defaultMaxOutput`.
 */
export function maxOutputTokens(
  call: Pick<AiCall, 'operation' | 'requestBody'>,
  defaultMaxOutput: number,
): number {
  if (call.operation === 'embeddings') return 0;
  const b = obj(call.requestBody);
  return (
    positive(b?.max_completion_tokens) ??
    positive(b?.max_tokens) ??
    positive(b?.max_output_tokens) ??
    positive(obj(b?.generationConfig)?.maxOutputTokens) ??
    defaultMaxOutput
  );
}

/** Input estimate: the serialized request body's UTF-8 bytes / 3, rounded up (all counted uncached). */
export function estimatedInputTokens(requestBody: unknown): number {
  let text: string;
  try {
    text = JSON.stringify(requestBody) ?? '';
  } catch {
    text = '';
  }
  return Math.ceil(Buffer.byteLength(text, 'utf8') / INPUT_BYTES_PER_TOKEN);
}

/** The usage a reservation is sized for: the estimated input and the maximum output, nothing cached. */
export function worstCaseUsage(
  call: Pick<AiCall, 'operation' | 'requestBody'>,
  defaultMaxOutput: number,
): AiUsage {
  return {
    inputTokens: estimatedInputTokens(call.requestBody),
    outputTokens: maxOutputTokens(call, defaultMaxOutput),
    cachedInputTokens: 0,
  };
}

/**
 * Operations that never bill tokens: model listings, token counting, and reading, cancelling or
 * deleting a stored OpenAI response (its tokens were billed by the call that created it, and a
 * retrieved one repeats its `usage`). Not reserved, not metered: no cap refuses them.
 */
const FREE_OPERATION = /(^|\.)models?(\.|$)|count_?tokens|^responses\.(retrieve|delete|cancel|input_items)$/i;

/** Whether `operation` bills nothing (see {@link FREE_OPERATION}). */
export function isFreeOperation(operation: string): boolean {
  return FREE_OPERATION.test(operation);
}
