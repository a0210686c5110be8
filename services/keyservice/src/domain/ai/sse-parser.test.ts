import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { SseParser, type SseNeedles } from './sse-parser.js';

type Event = [name: string | undefined, data: string];

/** Every event the parser hands over for `chunks`, fed in that order, then ended. */
function parse(chunks: readonly Buffer[], needles?: SseNeedles): Event[] {
  const out: Event[] = [];
  const parser = new SseParser((name, data) => out.push([name, data]), needles);
  for (const c of chunks) parser.push(c);
  parser.end();
  return out;
}

/** `buf` cut at the given offsets. */
function cut(buf: Buffer, at: readonly number[]): Buffer[] {
  const points = [0, ...[...at].sort((a, b) => a - b), buf.length];
  return points.slice(1).map((end, i) => buf.subarray(points[i], end));
}

/**
 * The standard's line processing done the plain way, on the whole stream as one string: the
 * reference the byte parser must agree with. An event is kept when a needle (if any) occurs in
 * its lines; a last event without its blank line is dispatched at the end, as the parser does.
 */
function reference(text: string, needles?: readonly string[]): Event[] {
  const out: Event[] = [];
  let name: string | undefined;
  let data: string[] = [];
  let lines: string[] = [];
  const dispatch = () => {
    const raw = lines.join('\n');
    if (data.length > 0 && (!needles || needles.some((n) => raw.includes(n))))
      out.push([name, data.join('\n')]);
    name = undefined;
    data = [];
    lines = [];
  };
  for (const line of text.split(/\r\n|\r|\n/)) {
    if (line === '') {
      dispatch();
      continue;
    }
    lines.push(line);
    if (line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') data.push(value);
    else if (field === 'event') name = value;
  }
  dispatch();
  return out;
}

/** A stream with named events, multi-line and empty data, comments, other fields and multi-byte text. */
function sample(eol: string): Buffer {
  return Buffer.from(
    [
      ': a comment line',
      'event: message_start',
      'data: {"type":"message_start","usage":{"input_tokens":3}}',
      '',
      'data: first line',
      'data:second line, no space',
      'data',
      'id: 7',
      'retry: 1000',
      '',
      '',
      'event: ping',
      '',
      'data: héllo wörld ✓ 日本語 🎉',
      'event: delta',
      '',
      'data: [DONE]',
      '',
      '',
    ].join(eol),
    'utf8',
  );
}

const SAMPLE_EVENTS: Event[] = [
  ['message_start', '{"type":"message_start","usage":{"input_tokens":3}}'],
  [undefined, 'first line\nsecond line, no space\n'],
  ['delta', 'héllo wörld ✓ 日本語 🎉'],
  [undefined, '[DONE]'],
];

describe('SseParser', () => {
  it.each([
    ['LF', '\n'],
    ['CRLF', '\r\n'],
    ['CR', '\r'],
  ])(
    'yields the same events with %s line ends, however the stream is cut: at every byte, in two at each offset, byte by byte',
    (_name, eol) => {
      const buf = sample(eol);
      expect(parse([buf])).toEqual(SAMPLE_EVENTS);
      for (let i = 0; i <= buf.length; i++)
        expect({ at: i, events: parse(cut(buf, [i])) }).toEqual({ at: i, events: SAMPLE_EVENTS });
      expect(
        parse(
          cut(
            buf,
            Array.from({ length: buf.length }, (_, i) => i),
          ),
        ),
      ).toEqual(SAMPLE_EVENTS);
    },
  );

  it('agrees with the plain reference on random streams, line ends and cuts (with and without needles)', () => {
    const value = fc.string({ unit: 'grapheme', maxLength: 12 }).map((s) => s.replace(/[\r\n]/g, ''));
    const line = fc.oneof(
      value.map((v) => `data: ${v}`),
      value.map((v) => `data:${v}`),
      fc.constant('data'),
      fc.constantFrom('event: message_start', 'event: message_delta', 'event:ping', 'event'),
      value.map((v) => `: ${v}`),
      fc.constantFrom('id: 1', 'retry: 5', 'dat: x', 'data2: y', ''),
      fc.constantFrom('data: {"usage":{"a":1}}', 'data: "usa', 'data: ge"'),
    );
    const stream = fc.array(fc.tuple(line, fc.constantFrom('\n', '\r\n', '\r')), { maxLength: 40 });
    fc.assert(
      fc.property(
        stream,
        fc.array(fc.nat(), { maxLength: 8 }),
        fc.option(fc.constantFrom(['"usage"'], ['message_start', 'message_delta'], ['é', 'x']), {
          nil: undefined,
        }),
        (lines, cuts, needles) => {
          const text = lines.map(([l, eol]) => l + eol).join('');
          const buf = Buffer.from(text, 'utf8');
          const chunks = cut(
            buf,
            cuts.map((c) => c % (buf.length + 1)),
          );
          expect(parse(chunks, needles && (() => needles))).toEqual(reference(text, needles));
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('hands over only the events that hold a needle, found in any line and across a cut', () => {
    const buf = Buffer.from(
      [
        'data: {"choices":[]}\n\n',
        'data: {"choices":[],"usage":{"prompt_tokens":9}}\n\n',
        'event: message_delta\ndata: {}\n\n',
        ': "usage" in a comment still selects\ndata: 3\n\n',
        'data: no needle here\n\n',
      ].join(''),
    );
    const needles = () => ['"usage"', 'message_delta'];
    const expected: Event[] = [
      [undefined, '{"choices":[],"usage":{"prompt_tokens":9}}'],
      ['message_delta', '{}'],
      [undefined, '3'],
    ];
    for (let i = 0; i <= buf.length; i++)
      expect({ at: i, events: parse(cut(buf, [i]), needles) }).toEqual({ at: i, events: expected });
  });

  it('matches needles as text, not as patterns, and follows a list that changes', () => {
    let needles: readonly string[] = ['a.b'];
    const seen: string[] = [];
    const parser = new SseParser(
      (_name, data) => {
        seen.push(data);
        needles = ['(c)'];
      },
      () => needles,
    );
    parser.push(Buffer.from('data: axb\n\ndata: a.b\n\ndata: a.b again\n\ndata: c\n\ndata: (c)\n\n'));
    parser.end();
    expect(seen).toEqual(['a.b', '(c)']);
  });

  it('asks for the needles again after each event it hands over (every event until the first)', () => {
    const seen: string[] = [];
    let needles: readonly string[] | undefined = undefined;
    const parser = new SseParser(
      (_name, data) => {
        seen.push(data);
        needles = ['usage'];
      },
      () => needles,
    );
    parser.push(Buffer.from('data: model\n\ndata: delta\n\ndata: more\n\ndata: usage\n\ndata: tail\n\n'));
    parser.end();
    expect(seen).toEqual(['model', 'usage']);
  });

  it('dispatches a last event that lacks its blank line at the end, and never an event without data', () => {
    expect(parse([Buffer.from('event: a\n\ndata: x\r\ndata: y')])).toEqual([[undefined, 'x\ny']]);
    expect(parse([Buffer.from('data: x\r')])).toEqual([[undefined, 'x']]);
    expect(parse([Buffer.from('event: only\n\n: comment\n\n')])).toEqual([]);
  });

  it('keeps no view of a pushed chunk: an owner reusing its buffer does not change a pending event', () => {
    const out: Event[] = [];
    const parser = new SseParser((name, data) => out.push([name, data]));
    const chunk = Buffer.from('data: abc');
    parser.push(chunk);
    chunk.fill(0x78);
    parser.push(Buffer.from('\n\n'));
    expect(out).toEqual([[undefined, 'abc']]);
  });
});
