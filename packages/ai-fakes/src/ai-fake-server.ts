import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { anthropicWire, azureWire, FAKE_DELTAS, googleWire, openaiWire } from './wire-formats.js';

/** The provider APIs the fake speaks (one server answers all four: their paths do not overlap). */
export type FakeProvider = 'openai' | 'anthropic' | 'google' | 'azure-openai';

/** One request the fake received, as it arrived. */
export interface FakeRequest {
  provider: FakeProvider;
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
  body: unknown;
  /** The key the request presented in the provider's own header. */
  key: string | undefined;
}

/** A one-off answer the next matching request gets instead of the normal one. */
export interface FakeFailure {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

/** Options of {@link startAiFake}. */
export interface AiFakeOptions {
  /** Keys the fake accepts (any provider); others get the provider's documented invalid-key error. */
  validKeys: Iterable<string>;
  /** Deltas each stream sends by default; a request with `max_tokens` >= 1000 gets that many. */
  deltas?: readonly string[];
}

/** A running fake upstream. */
export interface AiFake {
  url: string;
  requests: FakeRequest[];
  validKeys: Set<string>;
  /** Streams sent so far that the fake is holding after their first event (see {@link holdStreams}). */
  held: number;
  /** Streams whose connection closed before the fake finished sending them. */
  closedEarly: number;
  /** SSE bytes handed to sockets so far (a paused reader makes this stall: backpressure). */
  streamBytes: number;
  /** Streams sent to their end. */
  streamsFinished: number;
  /** Makes each stream stop after its first event until {@link release} (or 10 s). */
  holdStreams(on: boolean): void;
  /** Releases held streams. */
  release(): void;
  /**
   * Makes each OpenAI chat stream echo the key it was called with in one more delta, written to
   * the socket in two parts split inside the key (a gateway must scrub it across chunk boundaries).
   */
  echoKeyInStreams(on: boolean): void;
  /** Resolves when a held or running stream's connection has been closed by the other side. */
  nextEarlyClose(): Promise<void>;
  /** The next request of `provider` gets this answer. */
  failNext(provider: FakeProvider, f: FakeFailure): void;
  close(): Promise<void>;
}

function keyOf(provider: FakeProvider, req: IncomingMessage): string | undefined {
  const h = req.headers;
  if (provider === 'openai') return /^Bearer (.+)$/.exec(h.authorization ?? '')?.[1];
  if (provider === 'anthropic') return h['x-api-key'] as string | undefined;
  if (provider === 'google') return h['x-goog-api-key'] as string | undefined;
  return h['api-key'] as string | undefined;
}

/**
 * Which API a request is for. The real providers are told apart by host name; on one loopback
 * port the paths tell, and where two APIs share a path (`/v1/models`) the key header does.
 */
function providerOf(path: string, req: IncomingMessage): FakeProvider | undefined {
  if (path.startsWith('/openai/')) return 'azure-openai';
  if (path.startsWith('/v1beta/') || req.headers['x-goog-api-key'] !== undefined) return 'google';
  if (path.startsWith('/v1/messages') || req.headers['x-api-key'] !== undefined) return 'anthropic';
  return path.startsWith('/v1/') ? 'openai' : undefined;
}

/**
 * A loopback server speaking the four providers' HTTP and SSE wire formats as documented (bodies,
 * event names, `data: [DONE]`, CRLF-separated Gemini events, error bodies, Retry-After), checking
 * the key in each provider's own header and recording every request.
 */
export async function startAiFake(opts: AiFakeOptions): Promise<AiFake> {
  const defaultDeltas = opts.deltas ?? FAKE_DELTAS;
  const failures = new Map<FakeProvider, FakeFailure[]>();
  let hold = false;
  let echoKey = false;
  /** Stored Responses API responses (OpenAI stores them unless `store: false`), by id. */
  const stored = new Map<string, { response: ReturnType<typeof openaiWire.response>; input: unknown }>();
  let responseIds = 0;
  let releases: (() => void)[] = [];
  let closeWaiters: (() => void)[] = [];
  const fake: AiFake = {
    url: '',
    requests: [],
    validKeys: new Set(opts.validKeys),
    held: 0,
    closedEarly: 0,
    streamBytes: 0,
    streamsFinished: 0,
    holdStreams: (on) => {
      hold = on;
    },
    echoKeyInStreams: (on) => {
      echoKey = on;
    },
    release: () => {
      const r = releases;
      releases = [];
      r.forEach((f) => f());
    },
    nextEarlyClose: () => new Promise((resolve) => closeWaiters.push(resolve)),
    failNext: (provider, f) => failures.set(provider, [...(failures.get(provider) ?? []), f]),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };

  const json = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    const text = JSON.stringify(body);
    res.writeHead(status, {
      'content-type': 'application/json',
      'content-length': String(Buffer.byteLength(text)),
      'x-request-id': 'req_fake0001',
      ...headers,
    });
    res.end(text);
  };

  const stream = async (res: ServerResponse, events: string[], splitInside?: string) => {
    res.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache',
      'x-request-id': 'req_fake0001',
    });
    let finished = false;
    res.on('close', () => {
      if (finished) return;
      fake.closedEarly++;
      const w = closeWaiters;
      closeWaiters = [];
      w.forEach((f) => f());
    });
    const [first, ...rest] = events;
    fake.streamBytes += Buffer.byteLength(first ?? '');
    res.write(first);
    if (hold) {
      fake.held++;
      await new Promise<void>((resolve) => {
        releases.push(resolve);
        setTimeout(resolve, 10_000).unref();
      });
      fake.held--;
    }
    for (const e of rest) {
      if (res.destroyed) return;
      fake.streamBytes += Buffer.byteLength(e);
      const at = splitInside ? e.indexOf(splitInside) : -1;
      if (at >= 0) {
        // Two writes a moment apart: they reach the other side as two chunks, cut inside `splitInside`.
        res.write(e.slice(0, at + (splitInside!.length >> 1)));
        await new Promise((resolve) => setTimeout(resolve, 20));
        if (res.destroyed) return;
        res.write(e.slice(at + (splitInside!.length >> 1)));
        continue;
      }
      // Pipe discipline on our side too: wait for drain when the socket's buffer is full.
      if (!res.write(e)) await new Promise((resolve) => res.once('drain', resolve));
    }
    finished = true;
    fake.streamsFinished++;
    res.end();
  };

  /** A stored response: retrieve, delete, cancel (background ones only) and its input items. */
  const storedResponse = (res: ServerResponse, method: string, id: string, sub: string | undefined) => {
    const entry = stored.get(id);
    if (!entry) return json(res, 404, openaiWire.responseNotFound(id));
    const op = `${method} ${sub ?? ''}`;
    if (op === 'GET ') return json(res, 200, entry.response);
    if (op === 'DELETE ') {
      stored.delete(id);
      return json(res, 200, openaiWire.responseDeleted(id));
    }
    if (op === 'POST /cancel') {
      if (!entry.response.background) return json(res, 400, openaiWire.notCancellable());
      entry.response = { ...entry.response, status: 'cancelled' };
      return json(res, 200, entry.response);
    }
    if (op === 'GET /input_items') return json(res, 200, openaiWire.inputItems(entry.input));
    return json(res, 404, { error: { message: 'not found' } });
  };

  const handle = async (req: IncomingMessage, res: ServerResponse, raw: Buffer) => {
    const url = new URL(req.url ?? '/', 'http://fake');
    const path = url.pathname;
    const provider = providerOf(path, req);
    if (!provider) return json(res, 404, { error: { message: 'not found' } });
    let body: unknown = undefined;
    try {
      body = raw.length > 0 ? JSON.parse(raw.toString('utf8')) : undefined;
    } catch {
      return json(res, 400, { error: { message: 'body is not JSON' } });
    }
    const key = keyOf(provider, req);
    fake.requests.push({
      provider,
      method: req.method ?? '',
      path,
      query: url.searchParams,
      headers: req.headers,
      body,
      key,
    });
    const b = (body ?? {}) as {
      model?: string;
      stream?: boolean;
      stream_options?: { include_usage?: boolean };
      background?: boolean;
      store?: boolean;
      input?: unknown;
    };
    if (!key || !fake.validKeys.has(key)) {
      if (provider === 'openai') return json(res, 401, openaiWire.invalidKey(key ?? ''));
      if (provider === 'anthropic') return json(res, 401, anthropicWire.invalidKey());
      if (provider === 'google') return json(res, 400, googleWire.invalidKey());
      return json(res, 401, azureWire.invalidKey());
    }
    const failure = failures.get(provider)?.shift();
    if (failure) return json(res, failure.status, failure.body, failure.headers);
    const model = b.model ?? 'unknown-model';
    // A stream of `max_tokens` deltas when 1000 or more are asked for (throughput benchmarks).
    const maxTokens = (body as { max_tokens?: unknown } | undefined)?.max_tokens;
    const deltas =
      typeof maxTokens === 'number' && maxTokens >= 1000 && maxTokens <= 1_000_000
        ? Array.from({ length: maxTokens }, (_, i) => ` token${i % 1000}`)
        : defaultDeltas;
    if (provider === 'openai') {
      const one = /^\/v1\/responses\/([^/]+)(\/cancel|\/input_items)?$/.exec(path);
      if (one) return storedResponse(res, req.method ?? '', one[1] as string, one[2]);
      if (req.method === 'GET' && path === '/v1/models') return json(res, 200, openaiWire.models());
      const modelId = /^\/v1\/models\/([^/]+)$/.exec(path)?.[1];
      if (req.method === 'GET' && modelId) return json(res, 200, openaiWire.model(modelId));
      if (req.method !== 'POST') return json(res, 404, { error: { message: 'not found' } });
      if (path === '/v1/chat/completions') {
        if (!b.stream) return json(res, 200, openaiWire.chatCompletion(model));
        const chunks = openaiWire.chatChunks(model, b.stream_options?.include_usage === true, [
          ...deltas,
          ...(echoKey ? [` (echo: ${key})`] : []),
        ]);
        return stream(res, chunks, echoKey ? key : undefined);
      }
      if (path === '/v1/responses') {
        const id = `resp_fake${String(++responseIds).padStart(4, '0')}`;
        const response = openaiWire.response(model, id, b.background === true);
        if (b.store !== false) {
          stored.set(id, { response, input: b.input });
          if (stored.size > 1000) stored.delete(stored.keys().next().value as string);
        }
        return json(res, 200, response);
      }
      if (path === '/v1/embeddings')
        return json(
          res,
          200,
          openaiWire.embeddings(model, (body as { encoding_format?: string }).encoding_format === 'base64'),
        );
    }
    if (provider === 'anthropic') {
      if (req.method === 'GET') {
        const id = /^\/v1\/models\/([^/]+)$/.exec(path)?.[1];
        return json(res, 200, id ? anthropicWire.model(id) : anthropicWire.models());
      }
      if (path.endsWith('/count_tokens')) return json(res, 200, anthropicWire.countTokens());
      return b.stream
        ? stream(res, anthropicWire.streamEvents(model, deltas))
        : json(res, 200, anthropicWire.message(model));
    }
    if (provider === 'google') {
      if (req.method === 'GET') {
        const one = /^\/v1(?:beta)?\/models\/([^/:]+)$/.exec(path)?.[1];
        return json(res, 200, one ? googleWire.model(one) : googleWire.models());
      }
      const m = /^\/v1(?:beta)?\/models\/([^/:]+):(\w+)$/.exec(path);
      if (!m) return json(res, 404, googleWire.notFound());
      const [, gm, op] = m as unknown as [string, string, string];
      if (op === 'countTokens') return json(res, 200, googleWire.countTokens());
      if (op === 'batchEmbedContents') {
        const requests = (body as { requests?: unknown } | undefined)?.requests;
        return json(res, 200, googleWire.batchEmbeddings(Array.isArray(requests) ? requests.length : 0));
      }
      if (op === 'streamGenerateContent' && url.searchParams.get('alt') === 'sse')
        return stream(res, googleWire.streamEvents(gm, deltas));
      return json(res, 200, googleWire.response(gm));
    }
    if (provider === 'azure-openai') {
      if (!url.searchParams.get('api-version')) return json(res, 404, azureWire.notFound());
      if (req.method === 'GET') return json(res, 200, { object: 'list', data: openaiWire.models().data });
      const dep = /^\/openai\/deployments\/([^/]+)\/chat\/completions$/.exec(path)?.[1];
      if (!dep) return json(res, 404, azureWire.notFound());
      return b.stream
        ? stream(res, openaiWire.chatChunks(dep, b.stream_options?.include_usage === true, deltas))
        : json(res, 200, openaiWire.chatCompletion(dep));
    }
    return json(res, 404, { error: { message: 'not found' } });
  };

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      handle(req, res, Buffer.concat(chunks)).catch(() => res.destroy());
    });
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  fake.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const origClose = fake.close;
  fake.close = async () => {
    fake.release();
    server.closeAllConnections();
    await origClose();
  };
  return fake;
}
