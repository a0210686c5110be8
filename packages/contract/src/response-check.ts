import type { OperationDef } from './operation.js';
import { Problem } from './problem.js';

/** Whether a media type is JSON (problem+json included). */
export function isJsonMediaType(contentType: string | null | undefined): boolean {
  return !!contentType && /^application\/([a-z0-9.+-]*\+)?json\b/i.test(contentType);
}

/**
 * Why a response does not match its operation's entry, or undefined when it does: the status
 * must be declared (a success status, or the status of one of its error codes), a JSON body must
 * parse with that status's schema, and a problem body must name one of the route's codes. Used by
 * the service in tests (`validateResponses`) and by the test helpers on every reply.
 */
export function responseMismatch(
  op: OperationDef,
  status: number,
  contentType: string | null | undefined,
  body: string,
): string | undefined {
  const declared = op.responses[status];
  if (declared) {
    if (!declared.schema) return body.length === 0 ? undefined : `${status} must have no body`;
    if (!isJsonMediaType(declared.contentType ?? 'application/json')) return undefined;
    const r = declared.schema.safeParse(parseJson(body));
    return r.success ? undefined : `${status} body: ${issues(r.error.issues)}`;
  }
  if (!/application\/problem\+json/i.test(contentType ?? '')) return `status ${status} is not declared`;
  const p = Problem.safeParse(parseJson(body));
  if (!p.success) return `problem body: ${issues(p.error.issues)}`;
  if (p.data.status !== status) return `problem status ${p.data.status} differs from HTTP ${status}`;
  if (!op.errors.includes(p.data.code)) return `error code ${p.data.code} is not declared`;
  return undefined;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return Symbol('not JSON');
  }
}

function issues(list: readonly { path: PropertyKey[]; message: string }[]): string {
  return list
    .slice(0, 3)
    .map((i) => `${i.path.map(String).join('.') || '(body)'}: ${i.message}`)
    .join('; ');
}
