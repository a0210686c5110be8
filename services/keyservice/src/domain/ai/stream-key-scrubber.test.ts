import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { REDACTED } from './key-scrubber.js';
import { StreamKeyScrubber } from './stream-key-scrubber.js';

const KEY = 'sk-proj-StreamTenantKey0123456789abcdefWXYZ';

/** The pieces one push handed on. */
function push(s: StreamKeyScrubber, chunk: Buffer): Buffer[] {
  const pieces: Buffer[] = [];
  s.push(chunk, (p) => pieces.push(p));
  return pieces;
}

/** What each push handed on (its pieces joined), and what the end returned, for `chunks` fed in order. */
function scrubbed(key: string, chunks: readonly string[]): { pushed: string[]; end: string } {
  const s = new StreamKeyScrubber(key);
  const pushed = chunks.map((c) => Buffer.concat(push(s, Buffer.from(c, 'utf8'))).toString('utf8'));
  return { pushed, end: s.end().toString('utf8') };
}

/** The whole stream as the caller receives it. */
const relayed = (key: string, chunks: readonly string[]) => {
  const { pushed, end } = scrubbed(key, chunks);
  return pushed.join('') + end;
};

/** The buffered path's replacement of the whole key, on the whole text: the reference. */
const reference = (key: string, text: string) => text.split(key).join(REDACTED);

/** `text` cut at the given offsets. */
function cut(text: string, at: readonly number[]): string[] {
  const points = [0, ...[...at].sort((a, b) => a - b), text.length];
  return points.slice(1).map((end, i) => text.slice(points[i], end));
}

/**
 * Checks one cut of `text`: the caller gets the reference, nothing written ever holds the key, and
 * what was written after each push is a prefix of the reference (nothing is written that a later
 * chunk would have had to take back).
 */
function expectScrubbed(key: string, text: string, chunks: readonly string[]): void {
  const want = reference(key, text);
  const { pushed, end } = scrubbed(key, chunks);
  let sofar = '';
  for (const p of pushed) {
    sofar += p;
    expect({ chunks, prefix: want.startsWith(sofar) }).toEqual({ chunks, prefix: true });
  }
  expect({ chunks, out: sofar + end }).toEqual({ chunks, out: want });
  expect((sofar + end).includes(key)).toBe(false);
}

describe('StreamKeyScrubber', () => {
  const event = `data: {"choices":[{"delta":{"content":"echo ${KEY} done"}}]}\n\n`;

  it('hands on a chunk without the key as it is, holding nothing (the same buffer, not a copy)', () => {
    const s = new StreamKeyScrubber(KEY);
    const chunk = Buffer.from('data: {"x":1}\n\ndata: {"y":"sk-proj"}\n\n');
    const pieces = push(s, chunk);
    expect(pieces).toHaveLength(1);
    expect(pieces[0]).toBe(chunk);
    expect(s.end()).toHaveLength(0);
  });

  it('copies nothing of a long chunk after a held prefix: the prefix, then the chunk itself', () => {
    const s = new StreamKeyScrubber(KEY);
    expect(push(s, Buffer.from(`data: ${KEY.slice(0, 5)}`)).map(String)).toEqual(['data: ']);
    const next = Buffer.from(`-not-the-key-at-all ${'x'.repeat(KEY.length)}\n\n`);
    const pieces = push(s, next);
    expect(pieces.map(String)).toEqual([KEY.slice(0, 5), String(next)]);
    expect(pieces[1]).toBe(next);
  });

  it('replaces the key inside one chunk with the buffered path redaction', () => {
    expect(relayed(KEY, [event])).toBe(event.replace(KEY, REDACTED));
    expect(relayed(KEY, [event])).toContain(`echo ${REDACTED} done`);
  });

  it('replaces a key split at every point across two chunks', () => {
    for (let i = 0; i <= event.length; i++) expectScrubbed(KEY, event, cut(event, [i]));
  });

  it('replaces a key split at every pair of points across three chunks', () => {
    const at = event.indexOf(KEY);
    // Every pair of cuts that touches the key or its edges (the rest of the event cannot matter).
    for (let i = at - 2; i <= at + KEY.length + 2; i++)
      for (let j = i; j <= at + KEY.length + 2; j++) expectScrubbed(KEY, event, cut(event, [i, j]));
  });

  it('replaces a key at the very start and at the very end of the stream, at every split point', () => {
    for (const text of [`${KEY}\n\ndata: after\n\n`, `data: before ${KEY}`, KEY])
      for (let i = 0; i <= text.length; i++) expectScrubbed(KEY, text, cut(text, [i]));
  });

  it('replaces repeated and adjacent keys, at every split point', () => {
    const text = `data: ${KEY}${KEY} and ${KEY}\n\ndata: ${KEY}\n\n`;
    expect(relayed(KEY, [text])).toBe(
      `data: ${REDACTED}${REDACTED} and ${REDACTED}\n\ndata: ${REDACTED}\n\n`,
    );
    for (let i = 0; i <= text.length; i++) expectScrubbed(KEY, text, cut(text, [i]));
  });

  it('holds back only the end of a chunk that may start the key, and writes it unchanged at the end when the key never completes', () => {
    const prefix = KEY.slice(0, 20);
    const { pushed, end } = scrubbed(KEY, ['data: one\n\n', `data: {"t":"${prefix}`]);
    expect(pushed).toEqual(['data: one\n\n', 'data: {"t":"']);
    expect(end).toBe(prefix);
    // A chunk that is all prefix is all held; the end gives it back.
    expect(scrubbed(KEY, ['sk-', 'proj-'])).toEqual({ pushed: ['', ''], end: 'sk-proj-' });
  });

  it('writes a held prefix unchanged once the next chunk shows it is not the key', () => {
    const near = `${KEY.slice(0, -1)}!`;
    const text = `data: ${near} and ${KEY.slice(0, 12)}\n\n`;
    for (let i = 0; i <= text.length; i++) expectScrubbed(KEY, text, cut(text, [i]));
    const { pushed } = scrubbed(KEY, [`data: ${KEY.slice(0, 30)}`, `${KEY.slice(30, -1)}!\n\n`]);
    expect(pushed).toEqual(['data: ', `${KEY.slice(0, -1)}!\n\n`]);
  });

  it('finds a key that overlaps itself when it starts anywhere in the held prefix', () => {
    // Self-overlapping keys: the occurrence may start after the held prefix's first byte.
    for (const [key, text] of [
      ['aab', 'xaaab aab aaaab'],
      ['abab', 'abababab ababab'],
      ['aaaa', 'aaaaaaaaa b aaa'],
    ] as const) {
      for (let i = 0; i <= text.length; i++)
        for (let j = i; j <= text.length; j++) expectScrubbed(key, text, cut(text, [i, j]));
    }
  });

  it('agrees with the buffered replacement for any text and any cuts (property)', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: fc.constantFrom('a', 'b', '\n'), minLength: 1, maxLength: 6 }),
        fc.array(fc.constantFrom('a', 'b', '\n', 'K'), { maxLength: 60 }),
        fc.array(fc.nat(), { maxLength: 8 }),
        (key, parts, cuts) => {
          const text = parts.map((p) => (p === 'K' ? key : p)).join('');
          const chunks = cut(
            text,
            cuts.map((c) => c % (text.length + 1)),
          );
          // (The key may be a letter of the redaction itself here: equality with the reference is the check.)
          return relayed(key, chunks) === reference(key, text);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('forgets what it held when dropped (the caller went away)', () => {
    const s = new StreamKeyScrubber(KEY);
    expect(push(s, Buffer.from(`data: ${KEY.slice(0, 10)}`)).map(String)).toEqual(['data: ']);
    s.drop();
    expect(s.end()).toHaveLength(0);
  });
});
