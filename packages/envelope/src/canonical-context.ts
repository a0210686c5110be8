import { InvalidContextError, needs } from './errors.js';

/** The caller's encryption context: string keys to string values, bound into the AAD. */
export type Context = Readonly<Record<string, string>>;

/** At most this many keys in a context. */
export const MAX_CONTEXT_KEYS = 32;
/** At most this many UTF-8 bytes in the canonical JSON of a context. */
export const MAX_CONTEXT_BYTES = 4096;
/** The rule for every key a seal binds (the API's rule too: `@byok/contract` states it again). */
export const CONTEXT_KEY_PATTERN = /^[A-Za-z0-9._:-]{1,64}$/;
// JSON.parse keeps `__proto__` as an own key, but an object spread or a schema library drops it,
// so a context sealed under it could be rebuilt without it: never sealed.
const RESERVED_KEY = '__proto__';

/**
 * Which rule the keys follow: `seal` binds only keys matching {@link CONTEXT_KEY_PATTERN};
 * `open` takes any non-empty key, so ciphertexts sealed before the rule (and the pinned
 * vectors, one of which has a Cyrillic key) keep opening. A key outside the rule cannot
 * authenticate anything sealed since, so accepting it on open grants nothing.
 */
export type ContextKeyRule = 'seal' | 'open';

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
 * values only, keys by `rule`. `undefined` and `{}` both give `{}`. Throws {@link InvalidContextError}.
 */
export function canonicalContext(ctx: Context | undefined, rule: ContextKeyRule = 'seal'): string {
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
    if (rule === 'seal') {
      needs(
        CONTEXT_KEY_PATTERN.test(key) && key !== RESERVED_KEY,
        'Context keys must be 1-64 letters, digits, dots, underscores, colons or dashes, not __proto__',
        invalidContext,
      );
    }
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
