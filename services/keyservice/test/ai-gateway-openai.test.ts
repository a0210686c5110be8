import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { FAKE_DELTAS, FAKE_USAGE } from '@byok/ai-fakes';
import OpenAI from 'openai';
import { auditRows, eventually, KEYS, startGateway, type GatewayFixture } from './ai-gateway-harness.js';

/** Everything the client received must be free of the tenant's key. */
function expectNoKey(what: string, received: unknown): void {
  const text = typeof received === 'string' ? received : JSON.stringify(received);
  expect({ what, leaks: text.includes(KEYS.openai) || text.includes(KEYS.openai.slice(-12)) }).toEqual({
    what,
    leaks: false,
  });
}

describe('AI gateway with the official OpenAI SDK (baseURL = gateway, apiKey = service token)', () => {
  let f: GatewayFixture;
  let client: OpenAI;

  beforeAll(async () => {
    f = await startGateway('gw-openai');
    client = new OpenAI({ baseURL: `${f.base('gpt')}/v1`, apiKey: f.tokens.service, maxRetries: 0 });
  });
  afterAll(async () => {
    await f?.close();
  });

  it('completes a chat: upstream saw Bearer <tenant key>, never the service token; nothing returned holds the key', async () => {
    const before = f.fake.requests.length;
    const { data, response } = await client.chat.completions
      .create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] })
      .withResponse();
    expect(data.choices[0]?.message.content).toBe(FAKE_DELTAS.join(''));
    expect(data.usage?.prompt_tokens).toBe(FAKE_USAGE.inputTokens);
    const seen = f.fake.requests.slice(before);
    expect(seen).toHaveLength(1);
    expect(seen[0]?.headers.authorization).toBe(`Bearer ${KEYS.openai}`);
    expect(JSON.stringify(seen[0]?.headers)).not.toContain(f.tokens.service);
    expect(seen[0]?.body).toEqual({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });
    expectNoKey('body', data);
    expectNoKey('headers', [...response.headers.entries()]);
    expect(response.headers.get('x-upstream-request-id')).toBe('req_fake0001');
    // What the gateway added, for the caller's own latency tooling: durations only.
    expect(response.headers.get('server-timing')).toMatch(
      /^prep;dur=\d+\.\d{2}, key;dur=\d+\.\d{2}, upstream;dur=\d+\.\d{2}$/,
    );
  });

  it('streams a chat completion event by event, usage included with stream_options', async () => {
    const stream = await client.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'hi' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    const deltas: string[] = [];
    let usage: OpenAI.CompletionUsage | undefined | null;
    for await (const chunk of stream) {
      expectNoKey('chunk', chunk);
      const d = chunk.choices[0]?.delta.content;
      if (d) deltas.push(d);
      if (chunk.usage) usage = chunk.usage;
    }
    expect(deltas).toEqual([...FAKE_DELTAS]);
    expect(usage?.completion_tokens).toBe(FAKE_USAGE.outputTokens);
  });

  it('delivers the first event before upstream has finished (the fake holds the rest until the client saw it)', async () => {
    f.fake.holdStreams(true);
    try {
      const stream = await client.chat.completions.create({
        model: 'gpt-4o-mini',
        messages: [{ role: 'user', content: 'hi' }],
        stream: true,
      });
      const it = stream[Symbol.asyncIterator]();
      const first = await it.next();
      expect(first.done).toBe(false);
      // The upstream is still holding the rest of this stream: nothing was buffered until its end.
      expect(f.fake.held).toBe(1);
      f.fake.release();
      let rest = 0;
      for (let r = await it.next(); !r.done; r = await it.next()) rest++;
      expect(rest).toBe(FAKE_DELTAS.length + 1);
    } finally {
      f.fake.holdStreams(false);
      f.fake.release();
    }
  });

  it('cancels the upstream request when the client disconnects mid-stream (the fake sees its socket close)', async () => {
    f.fake.holdStreams(true);
    try {
      const closedBefore = f.fake.closedEarly;
      const abort = new AbortController();
      const stream = await client.chat.completions.create(
        { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], stream: true },
        { signal: abort.signal },
      );
      const it = stream[Symbol.asyncIterator]();
      await it.next();
      const closed = f.fake.nextEarlyClose();
      abort.abort();
      await closed;
      expect(f.fake.closedEarly).toBe(closedBefore + 1);
    } finally {
      f.fake.holdStreams(false);
      f.fake.release();
    }
  });

  it('serves responses, embeddings and models; refuses paths off the allow-list with 404 and never calls upstream for them', async () => {
    const resp = await client.responses.create({ model: 'gpt-4o-mini', input: 'hi' });
    expect(resp.output_text).toBe(FAKE_DELTAS.join(''));
    const emb = await client.embeddings.create({ model: 'text-embedding-3-small', input: 'hi' });
    expect(emb.data[0]?.embedding).toHaveLength(3);
    const models = await client.models.list();
    expect(models.data.map((m) => m.id)).toEqual(['gpt-4o-mini']);
    const before = f.fake.requests.length;
    await expect(client.files.list()).rejects.toMatchObject({ status: 404 });
    await expect(client.post('/../../secrets/gpt/reveal', { body: {} })).rejects.toMatchObject({
      status: expect.any(Number),
    });
    expect(f.fake.requests.length).toBe(before);
  });

  it('writes one secret.use event before each call and one ai.use event after it, with provider, model, status, tokens and duration', async () => {
    const plain = (rows: Awaited<ReturnType<typeof auditRows>>) =>
      rows.filter((e) => e.details?.operation === 'chat.completions' && e.details.stream === false);
    // Earlier tests' events are written after their answers: let them settle first.
    await new Promise((r) => setTimeout(r, 300));
    const calls = plain(await auditRows(f, 'ai.use')).length;
    const uses = (await auditRows(f, 'secret.use')).length;
    await client.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'x' }],
    });
    expect((await auditRows(f, 'secret.use')).length).toBe(uses + 1);
    const rows = await eventually(
      () => auditRows(f, 'ai.use'),
      (r) => plain(r).length === calls + 1,
    );
    const last = plain(rows).at(-1);
    expect(last).toMatchObject({
      outcome: 'success',
      details: {
        provider: 'openai',
        model: 'gpt-4o-mini',
        httpStatus: 200,
        stream: false,
        secretVersion: 1,
        upstreamRequestId: 'req_fake0001',
      },
    });
    expect(typeof last?.details?.durationMs).toBe('number');
    expectNoKey('audit', rows);
  });
});
