import fc, { type Arbitrary } from 'fast-check';
import type { z } from 'zod';

// A small generator of fast-check arbitraries from zod 4 schemas, read from the schema internals
// (`schema._zod.def`). zod-fast-check, the maintained library for this, supports zod 3 and
// fast-check 3 only. It covers what the contract uses: strings (regex, length, ISO datetime),
// numbers (int, bounds), booleans, enums, literals, objects, records, arrays, unions, optional,
// nullable, default and pipes (z.preprocess). Refinements cannot be read back from a function:
// a schema that has one (base64, a secret's format per kind) gets its generator from `hints`.

/** Arbitraries to use instead of the generic one: by schema, or by the refinement check it carries. */
export type Hints = Map<unknown, Arbitrary<unknown>>;

interface Check {
  _zod: {
    def: {
      check: string;
      format?: string;
      pattern?: RegExp;
      minimum?: number;
      maximum?: number;
      value?: number;
      inclusive?: boolean;
    };
  };
}

interface Def {
  type: string;
  checks?: Check[];
  format?: string;
  shape?: Record<string, z.ZodType>;
  innerType?: z.ZodType;
  element?: z.ZodType;
  keyType?: z.ZodType;
  valueType?: z.ZodType;
  options?: z.ZodType[];
  entries?: Record<string, string | number>;
  values?: unknown[];
  in?: z.ZodType;
  out?: z.ZodType;
}

const defOf = (s: z.ZodType): Def => (s as unknown as { _zod: { def: Def } })._zod.def;

/** Largest length generated for an unbounded or long string (valid long values come from mutations). */
const LONG = 48;

/** Whether a value of `s` may be left out of an object. */
export function isOptional(s: z.ZodType): boolean {
  const t = defOf(s).type;
  return t === 'optional' || t === 'default';
}

/** An arbitrary of values `s` accepts (as far as its definition can be read; see `hints`). */
export function arbitraryOf(s: z.ZodType, hints: Hints = new Map()): Arbitrary<unknown> {
  const hinted = hints.get(s);
  if (hinted) return hinted;
  const d = defOf(s);
  for (const c of d.checks ?? []) {
    const byCheck = hints.get(c);
    if (byCheck) return byCheck;
  }
  switch (d.type) {
    case 'string':
      return stringOf(d);
    case 'number':
      return numberOf(d);
    case 'boolean':
      return fc.boolean();
    case 'enum':
      return fc.constantFrom(...Object.values(d.entries ?? {}));
    case 'literal':
      return fc.constantFrom(...(d.values ?? []));
    case 'optional':
    case 'default':
      return fc.option(arbitraryOf(d.innerType as z.ZodType, hints), { nil: undefined });
    case 'nullable':
      return fc.option(arbitraryOf(d.innerType as z.ZodType, hints), { nil: null });
    case 'pipe': {
      // z.preprocess(fn, schema) is a pipe from a transform: generate what the schema takes.
      const input = d.in as z.ZodType;
      return defOf(input).type === 'transform'
        ? arbitraryOf(d.out as z.ZodType, hints)
        : arbitraryOf(input, hints);
    }
    case 'object':
      return objectOf(d.shape ?? {}, hints);
    case 'record':
      return fc
        .dictionary(
          arbitraryOf(d.keyType as z.ZodType, hints).map(String),
          arbitraryOf(d.valueType as z.ZodType, hints),
          { maxKeys: 4 },
        )
        .map((o) => Object.fromEntries(Object.entries(o).filter(([k]) => k !== '__proto__')));
    case 'array': {
      const { min, max } = lengths(d);
      return fc.array(arbitraryOf(d.element as z.ZodType, hints), {
        minLength: min,
        maxLength: Math.max(min, Math.min(max, 4)),
      });
    }
    case 'union':
      return fc.oneof(...(d.options ?? []).map((o) => arbitraryOf(o, hints)));
    default:
      return fc.jsonValue({ maxDepth: 2 });
  }
}

function lengths(d: Def): { min: number; max: number } {
  let min = 0;
  let max = Number.POSITIVE_INFINITY;
  for (const c of d.checks ?? []) {
    const cd = c._zod.def;
    if (cd.check === 'min_length' && cd.minimum !== undefined) min = Math.max(min, cd.minimum);
    if (cd.check === 'max_length' && cd.maximum !== undefined) max = Math.min(max, cd.maximum);
    if (cd.check === 'length_equals' && cd.value !== undefined) min = max = cd.value;
  }
  return { min, max };
}

function stringOf(d: Def): Arbitrary<string> {
  if (d.format === 'datetime')
    return fc
      .date({
        min: new Date('2000-01-01T00:00:00Z'),
        max: new Date('2100-01-01T00:00:00Z'),
        noInvalidDate: true,
      })
      .map((x) => x.toISOString());
  const { min, max } = lengths(d);
  const regex = d.checks
    ?.map((c) => c._zod.def)
    .find((cd) => cd.check === 'string_format' && cd.pattern)?.pattern;
  if (regex) return fc.stringMatching(regex).filter((x) => x.length >= min && x.length <= max);
  return fc.string({ minLength: min, maxLength: Math.max(min, Math.min(max, LONG)), unit: 'grapheme' });
}

function numberOf(d: Def): Arbitrary<number> {
  let min = -1e9;
  let max = 1e9;
  let int = false;
  for (const c of d.checks ?? []) {
    const cd = c._zod.def;
    if (cd.check === 'number_format' && (cd.format === 'safeint' || cd.format === 'int32')) int = true;
    if (cd.check === 'greater_than' && cd.value !== undefined) min = cd.inclusive ? cd.value : cd.value + 1;
    if (cd.check === 'less_than' && cd.value !== undefined) max = cd.inclusive ? cd.value : cd.value - 1;
  }
  return int ? fc.integer({ min, max }) : fc.double({ min, max, noNaN: true });
}

function objectOf(shape: Record<string, z.ZodType>, hints: Hints): Arbitrary<Record<string, unknown>> {
  const parts = Object.fromEntries(Object.entries(shape).map(([k, v]) => [k, arbitraryOf(v, hints)]));
  return fc.record(parts).map((o) => {
    // An optional member is left out (rather than sent as undefined, which JSON drops anyway).
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(o)) if (v !== undefined) out[k] = v;
    return out;
  });
}
