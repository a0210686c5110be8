import type { IncomingMessage, ServerResponse } from 'node:http';

/** Largest request body the emulator reads; Key Vault bodies are a few kilobytes. */
const MAX_BODY = 256 * 1024;

/** Reads the whole request body (bounded). */
export async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const b = chunk as Buffer;
    size += b.length;
    if (size > MAX_BODY) throw new RangeError('request body too large');
    chunks.push(b);
  }
  return Buffer.concat(chunks);
}

/** Parses a JSON object body; anything else is undefined. */
export function parseJsonObject(body: Buffer): Record<string, unknown> | undefined {
  if (body.length === 0) return undefined;
  try {
    const v: unknown = JSON.parse(body.toString('utf8'));
    return v !== null && typeof v === 'object' && !Array.isArray(v)
      ? (v as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/** Sends a JSON reply with the given status and extra headers. */
export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

/** Key Vault's error envelope: `{"error":{"code","message","innererror"?}}`. */
export function vaultError(code: string, message: string, innerCode?: string): Record<string, unknown> {
  const error: Record<string, unknown> = { code, message };
  if (innerCode) error['innererror'] = { code: innerCode };
  return { error };
}

/** Decodes base64url (Key Vault's encoding for key material and wrapped values). */
export function fromB64u(v: unknown): Buffer | undefined {
  if (typeof v !== 'string' || !/^[A-Za-z0-9_-]*={0,2}$/.test(v)) return undefined;
  return Buffer.from(v, 'base64url');
}
