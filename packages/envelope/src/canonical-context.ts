import { InvalidContextError, needs } from './errors.js';

/** The caller's encryption context: string keys to string values, bound into the AAD. */
export type Context = Readonly<Record<string, string>>;

/** At most this many keys in a context. */
export const MAX_CONTEXT_KEYS = 32;
/** At most this many UTF-8 bytes in the canonical JSON of a context. */
export const MAX_CONTEXT_BYTES = 4096;

const EMPTY_CONTEXT = '{}';
// A lone surrogate would be UTF-8 encoded as U+FFFD, so two different strings could share one AAD.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const invalidContext = (rule: string) => new InvalidContextError(rule);

/** True when `s` encodes to UTF-8 and back unchanged (no lone surrogates). */
export function isWellFormed(s: string): boolean {
  return !LONE_SURROGATE.test(s);
}

/**
 * The validated canonical JSON of `ctx`: own keys sorted by UTF-16 code units (as RFC 8785), string
 * values only. `undefined` and `{}` both give `{}`. Throws {@link InvalidContextError}.
 */
export function canonicalContext(ctx: Context | undefined): string {
  if (ctx === undefined) return EMPTY_CONTEXT;
  needs(
    typeof ctx === 'object' && ctx !== null && !Array.isArray(ctx),
    'Context must be a plain object',
    invalidContext,
  );
  const proto: unknown = Object.getPrototypeOf(ctx);
  needs(proto === Object.prototype || proto === null, 'Context must be a plain object', invalidContext);
  const keys = Object.keys(ctx);
  if (keys.length === 0) return EMPTY_CONTEXT;
  needs(
    keys.length <= MAX_CONTEXT_KEYS,
    `Context must have at most ${MAX_CONTEXT_KEYS} keys`,
    invalidContext,
  );
  keys.sort();
  let json = '{';
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i] as string;
    const value: unknown = ctx[key];
    needs(key.length > 0, 'Context keys must be non-empty', invalidContext);
    needs(typeof value === 'string', 'Context values must be strings', invalidContext);
    needs(isWellFormed(key) && isWellFormed(value), 'Context must be well-formed Unicode', invalidContext);
    json += (i === 0 ? '' : ',') + JSON.stringify(key) + ':' + JSON.stringify(value);
  }
  json += '}';
  needs(
    Buffer.byteLength(json, 'utf8') <= MAX_CONTEXT_BYTES,
    `Context must be at most ${MAX_CONTEXT_BYTES} bytes as canonical JSON`,
    invalidContext,
  );
  return json;
}
