import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One scripted answer: status, headers and a body (objects are sent as JSON). */
export interface ScriptedReply {
  status: number;
  headers?: Record<string, string>;
  body?: unknown;
  /** Never answer (to provoke a client timeout). */
  hang?: boolean;
  /** Destroy the socket without answering (a connection failure). */
  reset?: boolean;
}

/** A request the scripted server received. */
export interface SeenRequest {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

/** A tiny local HTTP server that answers from a script, and records what it was sent. */
export interface ScriptedServer {
  url: string;
  seen: SeenRequest[];
  /** Replies used in order; the last one repeats. */
  script(replies: ScriptedReply[]): void;
  close(): Promise<void>;
}

/** Problem+json body the way the key service writes one. */
export function problem(status: number, code: string, detail?: string): ScriptedReply {
  return {
    status,
    headers: { 'content-type': 'application/problem+json' },
    body: {
      type: `https://byok.dev/problems/${code.toLowerCase()}`,
      title: code,
      status,
      code,
      ...(detail ? { detail } : {}),
      requestId: 'srv-req-1',
    },
  };
}

/** Starts a scripted server on a random port. */
export async function startScriptedServer(): Promise<ScriptedServer> {
  let replies: ScriptedReply[] = [{ status: 200, body: {} }];
  let next = 0;
  const seen: SeenRequest[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      seen.push({
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      });
      const reply = replies[Math.min(next++, replies.length - 1)] as ScriptedReply;
      if (reply.hang) return;
      if (reply.reset) {
        req.socket.destroy();
        return;
      }
      const text = typeof reply.body === 'string' ? reply.body : JSON.stringify(reply.body ?? {});
      res.writeHead(reply.status, { 'content-type': 'application/json', ...reply.headers });
      res.end(reply.status === 204 ? undefined : text);
    });
  });
  server.listen(0, '127.0.0.1');
  await new Promise<void>((resolve) => server.once('listening', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    script(r) {
      replies = r;
      next = 0;
      seen.length = 0;
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
