import {
  createHttpHeaders,
  RestError,
  type HttpClient,
  type PipelineRequest,
  type PipelineResponse,
} from '@azure/core-rest-pipeline';
import type { EgressGuard } from '@byok/egress';

/** Options of {@link egressHttpClient}. */
export interface EgressHttpClientOptions {
  /** Extra CA (PEM) trusted for Key Vault's TLS (emulators). */
  tlsCa?: string;
  /** Deadline of one HTTP exchange when the request names none (default 10000 ms). */
  timeoutMs?: number;
  /** Most response body bytes read (default 1 MiB; Key Vault answers are a few KiB). */
  maxBodyBytes?: number;
}

const DEFAULT_MAX_BODY = 1024 * 1024;

function bodyOf(request: PipelineRequest): string | Uint8Array | undefined {
  const b = request.body;
  if (b === undefined || b === null) return undefined;
  if (typeof b === 'string') return b;
  if (b instanceof ArrayBuffer) return new Uint8Array(b);
  if (ArrayBuffer.isView(b)) return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  // Key Vault requests are JSON strings; streams, blobs and forms are never sent, so refuse them.
  throw new RestError('egress: unsupported request body type', {
    code: RestError.REQUEST_SEND_ERROR,
    request,
  });
}

/**
 * An Azure SDK `HttpClient` whose every request goes through the {@link EgressGuard}: the guard
 * resolves the vault host, refuses blocked ranges (unless allowed), connects to the address it
 * checked, follows no redirects, applies a deadline and caps the response body. A refusal or a
 * network failure surfaces as a `RestError` without a status, which the error mapper reports as
 * `KMS_UNAVAILABLE`; a body over the cap is refused rather than handed to the SDK cut short.
 */
export function egressHttpClient(guard: EgressGuard, options: EgressHttpClientOptions = {}): HttpClient {
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY;
  const defaultTimeout = options.timeoutMs ?? 10_000;
  return {
    async sendRequest(request: PipelineRequest): Promise<PipelineResponse> {
      const headers: Record<string, string> = {};
      for (const [name, value] of request.headers) headers[name] = value;
      const body = bodyOf(request);
      const signal = request.abortSignal as AbortSignal | undefined;
      let res;
      try {
        res = await guard.request(request.url, {
          method: request.method,
          headers,
          ...(body !== undefined ? { body } : {}),
          timeoutMs: request.timeout > 0 ? request.timeout : defaultTimeout,
          maxBodyBytes: maxBodyBytes + 1,
          ...(signal ? { signal } : {}),
          ...(options.tlsCa ? { ca: options.tlsCa } : {}),
        });
      } catch (err) {
        if ((err as Error).name === 'AbortError' && signal?.aborted) throw err;
        // EGRESS_REFUSED, ECONNRESET ...; a DOMException's numeric code (a timeout) says nothing.
        const code = (err as { code?: unknown }).code;
        throw new RestError(`egress: ${(err as Error).message}`, {
          code: typeof code === 'string' ? code : RestError.REQUEST_SEND_ERROR,
          request,
        });
      }
      if (res.truncated || res.body.length > maxBodyBytes) {
        throw new RestError(`egress: response body over ${maxBodyBytes} bytes`, {
          code: 'EGRESS_BODY_TOO_LARGE',
          request,
        });
      }
      const responseHeaders = createHttpHeaders();
      for (const [name, value] of Object.entries(res.headers)) {
        if (value === undefined) continue;
        responseHeaders.set(name, Array.isArray(value) ? value.join(', ') : value);
      }
      return {
        request,
        status: res.status,
        headers: responseHeaders,
        bodyAsText: res.body.length > 0 ? res.body.toString('utf8') : null,
      };
    },
  };
}
