import type { AiProviderKind } from '../metering-port.js';
import type { ModelPrice } from './price-table.js';

/** Dollars per million tokens to micro-dollars per million tokens. */
const $ = (dollars: number): number => Math.round(dollars * 1_000_000);

const p = (input: number, cachedInput: number, output: number): ModelPrice => ({
  input: $(input),
  cachedInput: $(cachedInput),
  output: $(output),
});

const claudeSonnet = p(3, 0.3, 15);
const claudeOpus = p(15, 1.5, 75);

/**
 * Built-in list prices (standard tier, USD per million tokens, as the providers publish them; the
 * long-context tiers of Gemini 2.5 Pro and Claude Sonnet above 200k input tokens are not modelled).
 * Dated snapshots match their base name (see PriceTable). Operators override or extend this with
 * `AI_PRICES_FILE`.
 */
export const DEFAULT_PRICES: Partial<Record<AiProviderKind, Record<string, ModelPrice>>> = {
  openai: {
    'gpt-4o': p(2.5, 1.25, 10),
    'gpt-4o-mini': p(0.15, 0.075, 0.6),
    'gpt-4.1': p(2, 0.5, 8),
    'gpt-4.1-mini': p(0.4, 0.1, 1.6),
    'gpt-4.1-nano': p(0.1, 0.025, 0.4),
    o1: p(15, 7.5, 60),
    'o1-mini': p(1.1, 0.55, 4.4),
    o3: p(2, 0.5, 8),
    'o3-mini': p(1.1, 0.55, 4.4),
    'o4-mini': p(1.1, 0.275, 4.4),
    'text-embedding-3-small': p(0.02, 0.02, 0),
    'text-embedding-3-large': p(0.13, 0.13, 0),
    'text-embedding-ada-002': p(0.1, 0.1, 0),
  },
  anthropic: {
    'claude-opus-4-5': p(5, 0.5, 25),
    'claude-opus-4-1': claudeOpus,
    'claude-opus-4-0': claudeOpus,
    'claude-opus-4': claudeOpus,
    'claude-sonnet-4-5': claudeSonnet,
    'claude-sonnet-4-0': claudeSonnet,
    'claude-sonnet-4': claudeSonnet,
    'claude-haiku-4-5': p(1, 0.1, 5),
    'claude-3-7-sonnet': claudeSonnet,
    'claude-3-5-sonnet': claudeSonnet,
    'claude-3-5-haiku': p(0.8, 0.08, 4),
    'claude-3-opus': claudeOpus,
    'claude-3-haiku': p(0.25, 0.03, 1.25),
  },
  google: {
    'gemini-2.5-pro': p(1.25, 0.31, 10),
    'gemini-2.5-flash': p(0.3, 0.075, 2.5),
    'gemini-2.5-flash-lite': p(0.1, 0.025, 0.4),
    'gemini-2.0-flash': p(0.1, 0.025, 0.4),
    'gemini-2.0-flash-lite': p(0.075, 0.075, 0.3),
  },
};
