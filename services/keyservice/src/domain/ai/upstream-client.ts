import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import { EgressRefusedError, type EgressGuard } from '@byok/egress';
import { AppError } from '../../errors.js';

/** Deadlines of an upstream call. */
export interface UpstreamTimeouts {
  /** From sending to the response's headers (a non-streaming completion answers only when done). */
  responseMs: number;
  /** Longest silence on the socket once connected (a stalled stream is cut). */
  idleMs: number;
}

/** One upstream request. */
export interface UpstreamRequest {
  method: 'GET' | 'POST' | 'DELETE';
  headers: Record<string, string>;
  body: Buffer | undefined;
  /** Aborts the call (the caller went away): the socket is destroyed, upstream sees it close. */
  signal: AbortSignal;
}

/** An upstream answer whose body is still to be read (streamed or buffered by the caller). */
export interface UpstreamResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: IncomingMessage;
}

/**
 * Connects to AI providers through the egress guard: the host is resolved and checked by the guard,
 * the socket goes to the address it checked, redirects are answered as they are. Unlike
 * `EgressGuard.request` the body is handed over unread, so a stream can be relayed as it arrives,
 * and connections are kept alive (the handshake is not paid per call).
 */
export class UpstreamClient {
  // noDelay: a request or an SSE event is written whole, so Nagle would only hold it back.
  private readonly httpAgent = new http.Agent({ keepAlive: true, maxSockets: 256, noDelay: true });
  private readonly httpsAgent = new https.Agent({ keepAlive: true, maxSockets: 256, noDelay: true });

  constructor(
    private readonly guard: EgressGuard,
    private readonly timeouts: UpstreamTimeouts,
  ) {}

  /** Sends `r` to `url`; resolves once the response headers arrived. Throws AI_UPSTREAM_* AppErrors. */
  async send(url: URL, r: UpstreamRequest): Promise<UpstreamResponse> {
    if (url.protocol !== 'https:' && url.protocol !== 'http:')
      throw new AppError('AI_UPSTREAM_UNAVAILABLE', `upstream scheme ${url.protocol} not allowed`);
    let pinned;
    try {
      pinned = await this.guard.resolve(url.hostname);
    } catch (err) {
      if (err instanceof EgressRefusedError)
        throw new AppError(
          'AI_UPSTREAM_UNAVAILABLE',
          'the upstream address is outside the egress allow-list',
          {
            cause: err,
          },
        );
      throw err;
    }
    const secure = url.protocol === 'https:';
    return new Promise<UpstreamResponse>((resolve, reject) => {
      let timedOut = false;
      const req = (secure ? https : http).request(url, {
        method: r.method,
        // A known length: one write of headers and body, no chunked framing for the provider to parse.
        headers: r.body ? { ...r.headers, 'content-length': String(r.body.length) } : r.headers,
        agent: secure ? this.httpsAgent : this.httpAgent,
        signal: r.signal,
        lookup: (_h, opts, cb) => {
          // Node asks with `all: true` when autoSelectFamily is on; answer in the form it asked for.
          if ((opts as { all?: boolean }).all) cb(null, [{ address: pinned.address, family: pinned.family }]);
          else cb(null, pinned.address, pinned.family);
        },
      });
      const deadline = setTimeout(() => {
        timedOut = true;
        req.destroy();
      }, this.timeouts.responseMs);
      req.setTimeout(this.timeouts.idleMs, () => {
        timedOut = true;
        req.destroy();
      });
      req.on('response', (res) => {
        clearTimeout(deadline);
        resolve({ status: res.statusCode ?? 502, headers: res.headers, body: res });
      });
      req.on('error', (err) => {
        clearTimeout(deadline);
        if (r.signal.aborted)
          reject(new AppError('AI_UPSTREAM_UNAVAILABLE', 'the caller went away', { cause: err }));
        else if (timedOut)
          reject(
            new AppError('AI_UPSTREAM_TIMEOUT', 'the AI provider did not answer in time', { cause: err }),
          );
        else
          reject(
            new AppError('AI_UPSTREAM_UNAVAILABLE', 'the AI provider could not be reached', { cause: err }),
          );
      });
      req.end(r.body);
    });
  }

  /** Closes idle kept-alive connections (shutdown). */
  close(): void {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }
}
