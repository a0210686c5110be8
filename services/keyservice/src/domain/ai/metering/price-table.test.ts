import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { costMicros, loadPriceTable, PriceTable, type ModelPrice } from './price-table.js';
import { isFreeOperation, maxOutputTokens, worstCaseUsage } from './reservation-size.js';

describe('PriceTable', () => {
  const t = new PriceTable();

  it('matches exact names, then a dated snapshot or version suffix', () => {
    expect(t.price('openai', 'gpt-4o')).toEqual({
      input: 2_500_000,
      cachedInput: 1_250_000,
      output: 10_000_000,
    });
    expect(t.price('openai', 'gpt-4o-2024-08-06')).toEqual(t.price('openai', 'gpt-4o'));
    expect(t.price('openai', 'gpt-4o-mini-2024-07-18')).toEqual(t.price('openai', 'gpt-4o-mini'));
    expect(t.price('anthropic', 'claude-sonnet-4-20250514')).toEqual(t.price('anthropic', 'claude-sonnet-4'));
    expect(t.price('anthropic', 'claude-3-7-sonnet-latest')?.output).toBe(15_000_000);
    expect(t.price('google', 'models/gemini-2.0-flash-001')).toEqual(t.price('google', 'gemini-2.0-flash'));
  });

  it('prices an Azure deployment named after its model from the OpenAI table', () => {
    expect(t.price('azure-openai', 'gpt-4o-mini')).toEqual(t.price('openai', 'gpt-4o-mini'));
  });

  it('prices nothing it does not know: no prefix guessing, no other provider, no empty name', () => {
    expect(t.price('openai', 'gpt-4o-turbo-ultra')).toBeUndefined();
    expect(t.price('openai', 'gpt')).toBeUndefined();
    expect(t.price('anthropic', 'gpt-4o')).toBeUndefined();
    expect(t.price('openai', undefined)).toBeUndefined();
    expect(t.price('azure-openai', 'my-deployment')).toBeUndefined();
  });

  it('lets a prices file add models, override defaults, or replace the table', () => {
    const dir = mkdtempSync(join(tmpdir(), 'prices-'));
    const file = join(dir, 'prices.json');
    writeFileSync(
      file,
      JSON.stringify({
        openai: { 'gpt-4o': { input: 1, output: 2 } },
        'azure-openai': { 'my-deployment': { input: 3, cachedInput: 1, output: 4 } },
      }),
    );
    const custom = loadPriceTable(file);
    expect(custom.price('openai', 'gpt-4o')).toEqual({ input: 1, cachedInput: 1, output: 2 });
    expect(custom.price('azure-openai', 'my-deployment')).toEqual({ input: 3, cachedInput: 1, output: 4 });
    expect(custom.price('anthropic', 'claude-3-haiku')).toBeDefined();
    writeFileSync(
      file,
      JSON.stringify({ replaceDefaults: true, google: { 'gemini-x': { input: 5, output: 6 } } }),
    );
    const only = loadPriceTable(file);
    expect(only.price('openai', 'gpt-4o')).toBeUndefined();
    expect(only.price('google', 'gemini-x')).toBeDefined();
  });

  it('refuses a bad prices file with an error naming the file and the problem', () => {
    const dir = mkdtempSync(join(tmpdir(), 'prices-'));
    const file = join(dir, 'bad.json');
    writeFileSync(file, JSON.stringify({ openai: { 'gpt-4o': { input: -1, output: 2 } } }));
    expect(() => loadPriceTable(file)).toThrow(
      new RegExp(`AI_PRICES_FILE ${file} is invalid: openai.gpt-4o.input`),
    );
    writeFileSync(file, JSON.stringify({ opneai: {} }));
    expect(() => loadPriceTable(file)).toThrow(/is invalid/);
    writeFileSync(file, '{not json');
    expect(() => loadPriceTable(file)).toThrow(/cannot read it as JSON/);
    expect(() => loadPriceTable(join(dir, 'missing.json'))).toThrow(/missing\.json/);
  });
});

describe('costMicros', () => {
  const gpt4o: ModelPrice = { input: 2_500_000, cachedInput: 1_250_000, output: 10_000_000 };

  it('charges uncached input, cached input and output at their prices per million tokens', () => {
    // 1117 prompt tokens of which 1024 cached, 46 output: 93*2.5 + 1024*1.25 + 46*10 = 1972.5 micro$, rounded up.
    expect(costMicros(gpt4o, { inputTokens: 1117, cachedInputTokens: 1024, outputTokens: 46 })).toBe(1973);
    expect(costMicros(gpt4o, { inputTokens: 1_000_000, cachedInputTokens: 0, outputTokens: 1_000_000 })).toBe(
      12_500_000,
    );
    expect(costMicros(gpt4o, { inputTokens: 0, cachedInputTokens: 0, outputTokens: 0 })).toBe(0);
  });

  it('rounds up: one token of a cheap model costs one micro-dollar, never zero', () => {
    expect(
      costMicros(
        { input: 20_000, cachedInput: 20_000, output: 0 },
        { inputTokens: 1, cachedInputTokens: 0, outputTokens: 0 },
      ),
    ).toBe(1);
  });

  const price = fc.record({
    input: fc.integer({ min: 0, max: 200_000_000 }),
    cachedInput: fc.integer({ min: 0, max: 200_000_000 }),
    output: fc.integer({ min: 0, max: 200_000_000 }),
  });
  const usage = fc
    .record({
      inputTokens: fc.integer({ min: 0, max: 50_000_000 }),
      cached: fc.integer({ min: 0, max: 50_000_000 }),
      outputTokens: fc.integer({ min: 0, max: 50_000_000 }),
    })
    .map((u) => ({
      inputTokens: u.inputTokens,
      cachedInputTokens: Math.min(u.cached, u.inputTokens),
      outputTokens: u.outputTokens,
    }));

  it('is the exact ceiling of the rational cost (property)', () => {
    fc.assert(
      fc.property(price, usage, (p, u) => {
        const exact =
          BigInt(u.inputTokens - u.cachedInputTokens) * BigInt(p.input) +
          BigInt(u.cachedInputTokens) * BigInt(p.cachedInput) +
          BigInt(u.outputTokens) * BigInt(p.output);
        const c = BigInt(costMicros(p, u));
        // c is the least integer with c * 1e6 >= exact.
        return c * 1_000_000n >= exact && (c === 0n || (c - 1n) * 1_000_000n < exact);
      }),
    );
  });

  it('never decreases when tokens are added, and is additive within one micro-dollar (property)', () => {
    fc.assert(
      fc.property(price, usage, usage, (p, a, b) => {
        const sum = {
          inputTokens: a.inputTokens + b.inputTokens,
          cachedInputTokens: a.cachedInputTokens + b.cachedInputTokens,
          outputTokens: a.outputTokens + b.outputTokens,
        };
        const whole = costMicros(p, sum);
        const parts = costMicros(p, a) + costMicros(p, b);
        return whole >= costMicros(p, a) && whole <= parts && parts - whole <= 1;
      }),
    );
  });
});

describe('reservation size', () => {
  it('takes the request cap of each API, else the default; embeddings produce no output', () => {
    const op = (operation: string, requestBody: unknown) => maxOutputTokens({ operation, requestBody }, 4096);
    expect(op('chat.completions', { max_tokens: 100 })).toBe(100);
    expect(op('chat.completions', { max_completion_tokens: 200, max_tokens: 100 })).toBe(200);
    expect(op('responses', { max_output_tokens: 300 })).toBe(300);
    expect(op('messages', { max_tokens: 1024 })).toBe(1024);
    expect(op('generateContent', { generationConfig: { maxOutputTokens: 50 } })).toBe(50);
    expect(op('chat.completions', { max_tokens: -5 })).toBe(4096);
    expect(op('chat.completions', { max_tokens: '100' })).toBe(4096);
    expect(op('chat.completions', null)).toBe(4096);
    expect(op('embeddings', { input: 'x', max_tokens: 10 })).toBe(0);
  });

  it('estimates input as body bytes / 3, rounded up', () => {
    const body = { model: 'gpt-4o', messages: [{ role: 'user', content: 'héllo' }] };
    const bytes = Buffer.byteLength(JSON.stringify(body));
    expect(worstCaseUsage({ operation: 'chat.completions', requestBody: body }, 10)).toEqual({
      inputTokens: Math.ceil(bytes / 3),
      outputTokens: 10,
      cachedInputTokens: 0,
    });
  });

  it('knows which operations bill nothing', () => {
    expect(isFreeOperation('models')).toBe(true);
    expect(isFreeOperation('models.get')).toBe(true);
    expect(isFreeOperation('messages.count_tokens')).toBe(true);
    expect(isFreeOperation('countTokens')).toBe(true);
    // A stored response was billed when it was created.
    for (const op of ['responses.retrieve', 'responses.delete', 'responses.cancel', 'responses.input_items'])
      expect(isFreeOperation(op)).toBe(true);
    for (const op of [
      'chat.completions',
      'responses',
      'embeddings',
      'messages',
      'generateContent',
      'batchEmbedContents',
    ])
      expect(isFreeOperation(op)).toBe(false);
  });
});
