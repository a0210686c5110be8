import fc, { type Arbitrary } from 'fast-check';

// Bad-input classes for JSON bodies, query strings and path segments: wrong types, huge and
// non-finite numbers, unicode edge cases (lone surrogates, BOM, NUL, bidi, invalid UTF-8 bytes),
// duplicate keys, `__proto__`, deep nesting, oversized strings, truncation.

/** JSON text emitted as is (numbers JSON.stringify cannot write, deep nesting). */
export class RawJson {
  constructor(readonly text: string) {}
}

/** Members an object carries beyond its own keys, written after them: duplicates, `__proto__`. */
export const EXTRA_MEMBERS = Symbol('extra members');

type WithExtras = Record<string, unknown> & { [EXTRA_MEMBERS]?: [string, unknown][] };

/** Serialises a value like JSON.stringify, plus {@link RawJson} and {@link EXTRA_MEMBERS}. */
export function toJsonText(v: unknown): string {
  if (v instanceof RawJson) return v.text;
  if (v === undefined) return 'null';
  if (Array.isArray(v)) return `[${v.map(toJsonText).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const o = v as WithExtras;
    const members = [...Object.entries(o), ...(o[EXTRA_MEMBERS] ?? [])];
    return `{${members.map(([k, x]) => `${JSON.stringify(k)}:${toJsonText(x)}`).join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

/** Strings a validator or a decoder may trip on. */
export const weirdString: Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    '',
    ' ',
    '\uD800',
    '\uDC00',
    'a\uD800b',
    '\uDFFF\uD800',
    '\uFEFF',
    '\uFEFFtenant',
    '\u0000',
    'a\u0000b',
    '\u202Eevil',
    'e\u0301',
    '\u{1D7D8}',
    '\u{1F511}',
    '\u2028\u2029',
    '%00',
    '../..',
    'null',
    'true',
    '1',
    '__proto__',
    'constructor',
    'sk-ant-\uD800abcdefghijklmnopqrstuvwxyz',
    'AAAA====',
    'QQ==\n',
    '\t\r\n',
  ),
  fc.array(fc.integer({ min: 0, max: 0xffff }), { maxLength: 24 }).map((u) => String.fromCharCode(...u)),
  fc.string({ unit: 'grapheme', maxLength: 24 }),
  // Oversized: past every field limit (8 KiB secrets, 1 MiB plaintexts), within the 4 MiB body limit.
  fc.constantFrom(257, 8193, 65_537, 1_398_105, 2_097_153).map((n) => 'A'.repeat(n)),
);

/** Numbers at and past the edges: huge, negative, fractional, unsafe integers, non-finite as text. */
export const weirdNumber: Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(
    0,
    -1,
    -0,
    0.5,
    1.5,
    2 ** 31,
    2 ** 32,
    2 ** 53,
    2 ** 53 + 2,
    1e21,
    1e308,
    -1e308,
    Number.MIN_VALUE,
    1_000_001,
    3601,
    501,
  ),
  fc
    .constantFrom('1e400', '-1e400', '1E-400', '123456789012345678901234567890', '-0.0', '1.0')
    .map((t) => new RawJson(t)),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
);

/** Deeply nested arrays or objects (deeper than any schema; JSON parsers recurse). */
export const deepNesting: Arbitrary<RawJson> = fc
  .tuple(fc.integer({ min: 50, max: 20_000 }), fc.boolean())
  .map(([depth, arrays]) =>
    arrays
      ? new RawJson(`${'['.repeat(depth)}${']'.repeat(depth)}`)
      : new RawJson(`${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`),
  );

/** Any value of the wrong kind for a position. */
export const weirdValue: Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: weirdString },
  { weight: 3, arbitrary: weirdNumber },
  { weight: 1, arbitrary: fc.constantFrom(null, true, false, [], {}, [1, 'a'], { a: 1 }) },
  { weight: 1, arbitrary: deepNesting },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
);

/** Paths (keys and indexes) of every object and array node in `v`, the root first. */
function containers(v: unknown, at: (string | number)[] = []): (string | number)[][] {
  if (v === null || typeof v !== 'object' || v instanceof RawJson) return [];
  const out = [at];
  for (const [k, x] of Object.entries(v))
    out.push(...containers(x, [...at, Array.isArray(v) ? Number(k) : k]));
  return out;
}

function clone(v: unknown): unknown {
  if (v === null || typeof v !== 'object' || v instanceof RawJson) return v;
  if (Array.isArray(v)) return v.map(clone);
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, clone(x)]));
}

function nodeAt(root: unknown, path: (string | number)[]): unknown {
  return path.reduce<unknown>((n, k) => (n as Record<string | number, unknown>)[k], root);
}

/** One structural change to a JSON value. */
export type JsonMutation =
  | { kind: 'replace'; at: number; key: number; value: unknown }
  | { kind: 'delete'; at: number; key: number }
  | { kind: 'add'; at: number; name: string; value: unknown }
  | { kind: 'proto'; at: number; value: unknown }
  | { kind: 'duplicate'; at: number; key: number; value: unknown }
  | { kind: 'whole'; value: unknown };

export const jsonMutation: Arbitrary<JsonMutation> = fc.oneof(
  fc.record({ kind: fc.constant('replace' as const), at: fc.nat(), key: fc.nat(), value: weirdValue }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), key: fc.nat() }),
  fc.record({
    kind: fc.constant('add' as const),
    at: fc.nat(),
    name: fc.oneof(fc.string({ maxLength: 12 }), fc.constantFrom('constructor', 'prototype', 'toString')),
    value: weirdValue,
  }),
  fc.record({
    kind: fc.constant('proto' as const),
    at: fc.nat(),
    value: fc.oneof(weirdValue, fc.constant({ polluted: 'yes', isAdmin: true })),
  }),
  fc.record({ kind: fc.constant('duplicate' as const), at: fc.nat(), key: fc.nat(), value: weirdValue }),
  fc.record({ kind: fc.constant('whole' as const), value: weirdValue }),
);

/** Applies `m` to a copy of `value` (a node is picked by index among its objects and arrays). */
export function mutateJson(value: unknown, m: JsonMutation): unknown {
  if (m.kind === 'whole') return m.value;
  const root = clone(value);
  const nodes = containers(root);
  if (nodes.length === 0) return m.kind === 'delete' ? undefined : m.kind === 'replace' ? m.value : root;
  const node = nodeAt(root, nodes[m.at % nodes.length] as (string | number)[]) as WithExtras | unknown[];
  const keys = Object.keys(node);
  const index = 'key' in m ? m.key : 0;
  const key = keys.length > 0 ? (keys[index % keys.length] as string) : undefined;
  switch (m.kind) {
    case 'replace':
      if (key === undefined) return m.value;
      (node as Record<string, unknown>)[key] = m.value;
      return root;
    case 'delete':
      if (key === undefined) return root;
      if (Array.isArray(node)) node.splice(Number(key), 1);
      else delete node[key];
      return root;
    case 'add':
      if (Array.isArray(node)) node.push(m.value);
      else node[m.name] = m.value;
      return root;
    case 'proto':
    case 'duplicate': {
      if (Array.isArray(node)) {
        node.push(m.value);
        return root;
      }
      const name = m.kind === 'proto' ? '__proto__' : key;
      if (name === undefined) return root;
      node[EXTRA_MEMBERS] = [...(node[EXTRA_MEMBERS] ?? []), [name, m.value]];
      return root;
    }
  }
}

/** One change to the bytes of a body: a BOM, invalid UTF-8, truncation, or nothing. */
export type ByteMutation =
  | { kind: 'none' }
  | { kind: 'bom' }
  | { kind: 'invalid-utf8'; at: number; bytes: readonly number[] }
  | { kind: 'truncate'; at: number };

export const byteMutation: Arbitrary<ByteMutation> = fc.oneof(
  { weight: 4, arbitrary: fc.constant({ kind: 'none' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'bom' as const }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('invalid-utf8' as const),
      at: fc.nat(),
      // A lone continuation byte, an overlong '/', a CESU-8 surrogate, 0xFF, a cut-off sequence.
      bytes: fc.constantFrom(
        [0x80],
        [0xc0, 0xaf],
        [0xed, 0xa0, 0x80],
        [0xff],
        [0xe2, 0x82],
        [0xf4, 0x90, 0x80, 0x80],
      ),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }) },
);

/** The bytes of `text` changed by `m`. */
export function mutateBytes(text: string, m: ByteMutation): Buffer {
  const b = Buffer.from(text, 'utf8');
  switch (m.kind) {
    case 'none':
      return b;
    case 'bom':
      return Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), b]);
    case 'invalid-utf8': {
      const at = b.length === 0 ? 0 : m.at % b.length;
      return Buffer.concat([b.subarray(0, at), Buffer.from(m.bytes), b.subarray(at)]);
    }
    case 'truncate':
      return b.subarray(0, b.length === 0 ? 0 : m.at % b.length);
  }
}

/** Query-string values that parse badly: huge and non-finite numbers, bad escapes, unicode. */
export const weirdQueryValue: Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    '1e999',
    '-1',
    '0',
    '-0',
    '0x10',
    '  5',
    '5abc',
    'Infinity',
    'NaN',
    '99999999999999999999999',
    '9007199254740993',
    '1.5',
    '501',
    '',
    '%',
    '%zz',
    '%ff%fe',
    '%ED%A0%80',
    '%EF%BB%BF1',
    '%00',
    'true',
    '__proto__',
  ),
  weirdString.filter((s) => s.length < 4096).map(encodeURIComponentLoose),
);

/** encodeURIComponent, except lone surrogates (which it refuses) become a raw invalid escape. */
export function encodeURIComponentLoose(s: string): string {
  try {
    return encodeURIComponent(s);
  } catch {
    return `%ED%A0%80${encodeURIComponent(s.replace(/[\uD800-\uDFFF]/g, ''))}`;
  }
}

/** Path segments that decode badly or match nothing. */
export const weirdPathSegment: Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    '%',
    '%zz',
    '%ff',
    '%c0%af',
    '%ED%A0%80',
    '%00',
    '..',
    '.',
    '%2e%2e',
    '%2F',
    'a%2Fb',
    '~',
    ' ',
  ),
  fc.constantFrom(300, 5000).map((n) => 'a'.repeat(n)),
  weirdString.filter((s) => s.length > 0 && s.length < 2048).map(encodeURIComponentLoose),
);
