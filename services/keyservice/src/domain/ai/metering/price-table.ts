import { readFileSync } from 'node:fs';
import { z } from 'zod';
import type { AiProviderKind, AiUsage } from '../metering-port.js';
import { DEFAULT_PRICES } from './default-prices.js';

/** Prices of one model in integer micro-dollars per million tokens ($2.50 / 1M tokens = 2_500_000). */
export interface ModelPrice {
  input: number;
  /** Input tokens read from the provider's prompt cache; the input price when the model has none. */
  cachedInput: number;
  output: number;
}

const Micros = z.number().int().min(0).max(1_000_000_000_000);

/** One model's entry in a prices file (`cachedInput` defaults to `input`). */
export const ModelPriceSchema = z.strictObject({
  input: Micros,
  cachedInput: Micros.optional(),
  output: Micros,
});

const ModelName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}$/);

/**
 * The `AI_PRICES_FILE` format: per provider kind, model name to prices. Entries replace or add to
 * the built-in table one model at a time; `"replaceDefaults": true` drops the built-in table.
 */
export const PricesFileSchema = z.strictObject({
  replaceDefaults: z.boolean().optional(),
  openai: z.record(ModelName, ModelPriceSchema).optional(),
  anthropic: z.record(ModelName, ModelPriceSchema).optional(),
  google: z.record(ModelName, ModelPriceSchema).optional(),
  'azure-openai': z.record(ModelName, ModelPriceSchema).optional(),
});
/** A parsed prices file. */
export type PricesFile = z.infer<typeof PricesFileSchema>;

const PROVIDERS: readonly AiProviderKind[] = ['openai', 'anthropic', 'google', 'azure-openai'];

// Dated snapshots and versions the providers append to a model name: gpt-4o-2024-08-06,
// claude-sonnet-4-20250514, gemini-2.0-flash-001, claude-3-7-sonnet-latest.
const SNAPSHOT_SUFFIX = /-(\d{4}-\d{2}-\d{2}|\d{8}|\d{3}|latest)$/;

/** The name a model is priced under: lower case, without a `models/` path prefix. */
export function normaliseModel(model: string): string {
  return model
    .trim()
    .toLowerCase()
    .replace(/^models\//, '');
}

/**
 * Model prices per provider kind. Lookup: the exact (normalised) name; else the name without one
 * dated-snapshot or version suffix (`gpt-4o-2024-08-06` -> `gpt-4o`); Azure OpenAI deployments are
 * looked up in the `azure-openai` table, then in the `openai` one. Nothing else matches: an unknown
 * model is unpriced, never free.
 */
export class PriceTable {
  private readonly byProvider = new Map<AiProviderKind, Map<string, ModelPrice>>();

  constructor(file: PricesFile = {}) {
    for (const p of PROVIDERS) {
      const table = new Map<string, ModelPrice>();
      if (!file.replaceDefaults)
        for (const [m, price] of Object.entries(DEFAULT_PRICES[p] ?? {})) table.set(normaliseModel(m), price);
      for (const [m, price] of Object.entries(file[p] ?? {}))
        table.set(normaliseModel(m), { ...price, cachedInput: price.cachedInput ?? price.input });
      this.byProvider.set(p, table);
    }
  }

  /** The price of `model` served by `provider`, or undefined when it is not in the table. */
  price(provider: AiProviderKind, model: string | undefined): ModelPrice | undefined {
    if (!model) return undefined;
    const name = normaliseModel(model);
    const tables =
      provider === 'azure-openai'
        ? [this.table('azure-openai'), this.table('openai')]
        : [this.table(provider)];
    for (const t of tables) {
      const hit = t.get(name) ?? t.get(name.replace(SNAPSHOT_SUFFIX, ''));
      if (hit) return hit;
    }
    return undefined;
  }

  private table(p: AiProviderKind): Map<string, ModelPrice> {
    return this.byProvider.get(p) ?? new Map();
  }
}

/** Reads and validates `AI_PRICES_FILE`; a bad file is an error naming it (the start fails). */
export function loadPriceTable(path: string | undefined): PriceTable {
  if (!path) return new PriceTable();
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8')) as unknown;
  } catch (err) {
    throw new Error(`AI_PRICES_FILE ${path}: cannot read it as JSON (${(err as Error).message})`, {
      cause: err,
    });
  }
  const r = PricesFileSchema.safeParse(raw);
  if (!r.success) {
    const problems = r.error.issues.map((i) => `${i.path.join('.') || '(file)'}: ${i.message}`);
    throw new Error(`AI_PRICES_FILE ${path} is invalid: ${problems.join('; ')}`);
  }
  return new PriceTable(r.data);
}

const MILLION = 1_000_000n;

/**
 * Cost of `usage` in integer micro-dollars, rounded up: uncached input at the input price, cached
 * input at the cached price, output at the output price, per million tokens. BigInt throughout,
 * so no product of tokens and prices loses precision.
 */
export function costMicros(price: ModelPrice, usage: AiUsage): number {
  const cached = BigInt(Math.min(usage.cachedInputTokens, usage.inputTokens));
  const uncached = BigInt(usage.inputTokens) - cached;
  const total =
    uncached * BigInt(price.input) +
    cached * BigInt(price.cachedInput) +
    BigInt(usage.outputTokens) * BigInt(price.output);
  const micros = (total + MILLION - 1n) / MILLION;
  if (micros > BigInt(Number.MAX_SAFE_INTEGER)) return Number.MAX_SAFE_INTEGER;
  return Number(micros);
}
