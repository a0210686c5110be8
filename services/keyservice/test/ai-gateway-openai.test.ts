import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { FAKE_DELTAS, FAKE_USAGE } from '@byok/ai-fakes';
import OpenAI from 'openai';
import { REDACTED } from '../src/domain/ai/key-scrubber.js';
import { expectProblem } from './acceptance-helpers.js';
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

  it('retrieves, lists the input items of, cancels and deletes a stored response, and retrieves a model: upstream saw each method and path with the tenant key; each call is an ai.use event naming its operation', async () => {
    const created = await client.responses.create({ model: 'gpt-4o-mini', input: 'hi', background: true });
    expect(created.status).toBe('queued');
    const id = created.id;
    const before = f.fake.requests.length;

    const got = await client.responses.retrieve(id, { include: ['reasoning.encrypted_content'] });
    expect({ id: got.id, status: got.status }).toEqual({ id, status: 'queued' });
    const items = await client.responses.inputItems.list(id);
    expect(items.data).toMatchObject([{ type: 'message', role: 'user', content: [{ text: 'hi' }] }]);
    const cancelled = await client.responses.cancel(id);
    expect(cancelled.status).toBe('cancelled');
    // The SDK types the deletion as void: its body is read off the raw response.
    const deleted = await client.responses.delete(id).asResponse();
    expect({ status: deleted.status, body: (await deleted.json()) as unknown }).toEqual({
      status: 200,
      body: { id, object: 'response', deleted: true },
    });
    // Gone upstream: the provider's own 404 is relayed.
    await expect(client.responses.retrieve(id)).rejects.toMatchObject({ status: 404 });
    const model = await client.models.retrieve('gpt-4o-mini');
    expect(model).toMatchObject({ id: 'gpt-4o-mini', object: 'model' });

    const seen = f.fake.requests.slice(before);
    expect(seen.map((r) => `${r.method} ${r.path}`)).toEqual([
      `GET /v1/responses/${id}`,
      `GET /v1/responses/${id}/input_items`,
      `POST /v1/responses/${id}/cancel`,
      `DELETE /v1/responses/${id}`,
      `GET /v1/responses/${id}`,
      'GET /v1/models/gpt-4o-mini',
    ]);
    for (const r of seen) {
      expect(r.key).toBe(KEYS.openai);
      expect(JSON.stringify(r.headers)).not.toContain(f.tokens.service);
    }
    // The SDK's query reached upstream; the cancel had no body to relay.
    expect(seen[0]?.query.getAll('include[]')).toEqual(['reasoning.encrypted_content']);
    expect(seen[2]?.body).toBeUndefined();
    expectNoKey('responses', [got, items, cancelled, model]);

    const ops = ['responses.retrieve', 'responses.input_items', 'responses.cancel', 'responses.delete'];
    const rows = await eventually(
      () => auditRows(f, 'ai.use'),
      (r) =>
        ops.every((op) => r.some((e) => e.details?.operation === op)) &&
        r.filter((e) => e.details?.operation === 'responses.retrieve').length === 2,
    );
    const byOp = (op: string) =>
      rows
        .filter((e) => e.details?.operation === op)
        .map((e) => ({ outcome: e.outcome, status: e.details?.httpStatus, provider: e.details?.provider }));
    expect(byOp('responses.retrieve')).toEqual([
      { outcome: 'success', status: 200, provider: 'openai' },
      { outcome: 'failure', status: 404, provider: 'openai' },
    ]);
    for (const op of ops.slice(1))
      expect(byOp(op)).toEqual([{ outcome: 'success', status: 200, provider: 'openai' }]);
  });

  it('refuses a method a gateway path does not allow with 404 NOT_FOUND problem+json, never calling upstream', async () => {
    const before = f.fake.requests.length;
    const path = (p: string) => `/v1/tenants/${f.tenantId}/ai/gpt${p}`;
    for (const [method, p] of [
      ['DELETE', '/v1/chat/completions'],
      ['GET', '/v1/chat/completions'],
      ['POST', '/v1/responses/resp_fake0001'],
      ['GET', '/v1/responses/resp_fake0001/cancel'],
      ['DELETE', '/v1/responses/resp_fake0001/input_items'],
      ['DELETE', '/v1/models/gpt-4o-mini'],
      ['PUT', '/v1/responses/resp_fake0001'],
      ['PATCH', '/v1/responses/resp_fake0001'],
      ['HEAD', '/v1/models'],
    ] as const) {
      const r = await f.s.call(method, path(p), { token: f.tokens.service });
      expect({ method, p, status: r.status }).toEqual({ method, p, status: 404 });
      if (method === 'HEAD') continue;
      expectProblem(r, 404, 'NOT_FOUND');
    }
    expect(f.fake.requests.length).toBe(before);
  });

  it('scrubs the tenant key from a streamed answer that echoes it split across two upstream chunks; every event still arrives', async () => {
    f.fake.echoKeyInStreams(true);
    try {
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
      // The echo was sent (the fake saw this key) and arrived, redacted as the buffered path does.
      expect(f.fake.requests.at(-1)?.key).toBe(KEYS.openai);
      expect(deltas).toEqual([...FAKE_DELTAS, ` (echo: ${REDACTED})`]);
      expect(usage?.completion_tokens).toBe(FAKE_USAGE.outputTokens);
    } finally {
      f.fake.echoKeyInStreams(false);
    }
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
