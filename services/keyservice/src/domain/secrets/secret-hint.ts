import { SECRET_FORMATS, type SecretKind } from '@byok/contract';

/** Below this length a value shows none of its characters in its hint. */
export const MIN_LENGTH_FOR_SUFFIX = 20;

// Length classes a hint may name: coarse enough that the class says little about a password.
const LENGTH_CLASSES: readonly [number, number | undefined][] = [
  [1, 11],
  [12, 19],
  [20, 31],
  [32, 63],
  [64, 127],
  [128, undefined],
];

/** The length class of `n` characters, e.g. `12-19 chars` or `128+ chars`. */
export function lengthClass(n: number): string {
  const [lo, hi] = LENGTH_CLASSES.findLast(([from]) => n >= from) ?? [1, 11];
  return hi === undefined ? `${lo}+ chars` : `${lo}-${hi} chars`;
}

/**
 * A masked hint. A provider key of 20 characters or more shows its kind's known prefix and its
 * last four characters (`sk-ant-...x7Qa`), enough to tell two keys apart in a console. A
 * `generic` secret (often a password) or any shorter value shows no character of itself: only
 * its kind and length class (`generic, 12-19 chars`), since four characters of a short password
 * are a large share of it.
 */
export function maskSecret(kind: SecretKind, value: string): string {
  if (kind === 'generic' || value.length < MIN_LENGTH_FOR_SUFFIX) {
    return `${kind}, ${lengthClass(value.length)}`;
  }
  return `${SECRET_FORMATS[kind].prefix}...${value.slice(-4)}`;
}
