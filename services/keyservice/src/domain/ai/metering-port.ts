/**
 * The seam between the AI gateway and metering (usage, prices, spend caps). The gateway calls it
 * around every upstream call; metering implements it. Nothing here ever carries the key.
 */
import type { AuditActor } from '../audit/audit-recorder.js';

export type AiProviderKind = 'openai' | 'anthropic' | 'google' | 'azure-openai';
/** Tokens of one call, as the provider reported them. */
export interface AiUsage {
  inputTokens: number;
  outputTokens: number;
  cachedInputTokens: number;
}
/** One gateway call, as metering sees it. */
export interface AiCall {
  tenantId: string;
  secretName: string;
  secretVersion: number;
  provider: AiProviderKind;
  /** the allow-listed operation, e.g. 'chat.completions', 'responses', 'embeddings', 'messages', 'generateContent' */
  operation: string;
  /** model from the request body, or from the path (Gemini `models/{model}:...`, Azure deployment) */
  model: string | undefined;
  /** the parsed JSON request body (never stored or logged by metering) */
  requestBody: unknown;
  stream: boolean;
  /** Who asked (token, request id, client): the actor of metering's own audit events (refusals). */
  actor?: AuditActor;
}
/** Reads usage and the served model from what upstream sent; fed while bytes pass through. */
export interface UsageObserver {
  json(body: unknown): void; // non-streaming JSON response body
  sseEvent(event: string | undefined, data: string): void; // one SSE event (event name, data joined)
  /**
   * Which SSE events `sseEvent` can learn anything from, so the relay decodes only those: undefined
   * for every event, or strings of which an event must contain one (in its raw lines: field names
   * and data as sent). Asked before each event; must select every event `sseEvent` would use.
   */
  sseNeedles?(): readonly string[] | undefined;
  usage(): AiUsage | undefined;
  model(): string | undefined;
}
/** A reservation of a call's maximum cost against the caps that apply. */
export interface AiReservation {
  readonly id: string;
  /** The call's maximum cost (what it holds against the caps when `held`). */
  readonly reservedMicros: number;
  /** Whether it is stored and holds its amount on the counters (false: no cap applied). */
  readonly held: boolean;
}
/** What the gateway asks of metering. */
export interface AiMeteringPort {
  /** Before the upstream call: reserves the call's maximum cost against every cap that applies.
   *  Throws AppError('BUDGET_EXCEEDED') (402) or AppError('MODEL_NOT_PRICED') (400/422), having audited the refusal. */
  reserve(call: AiCall): Promise<AiReservation>;
  observer(call: AiCall): UsageObserver;
  /** What `settle` will charge for this outcome, without I/O (so the `ai.use` event can be written alongside). */
  cost(
    r: AiReservation,
    call: AiCall,
    outcome: { status: number; usage: AiUsage | undefined; model: string | undefined },
  ): number | undefined;
  /** After the call (success or upstream error): settles the reservation to the real cost and records usage. */
  settle(
    r: AiReservation,
    call: AiCall,
    outcome: { status: number; usage: AiUsage | undefined; model: string | undefined },
  ): Promise<{ costMicros: number | undefined }>;
  /** The call never reached upstream (refused, failed before sending): gives the reservation back. */
  release(r: AiReservation): Promise<void>;
}
