const LF = 0x0a;
const CR = 0x0d;
const COLON = 0x3a;
const SPACE = 0x20;

/**
 * What the consumer of the events needs: undefined for every event, or strings of which an event
 * must contain at least one, anywhere in its lines as sent (field names included), to be handed
 * over. Asked again before each event (the answer may change once an event was handed over, e.g.
 * once the model is known).
 */
export type SseNeedles = () => readonly string[] | undefined;

/**
 * Incremental parser of a `text/event-stream` (WHATWG HTML "server-sent events"): fed the bytes as
 * they pass through, it calls `onEvent(event, data)` once per complete event (data lines joined
 * with `\n`) that the consumer's needles select. It only reads: the relayed bytes are never
 * changed or held back.
 *
 * It sits on the relay's hot path, so it works on bytes and does as little as it can per event:
 * events are framed by their blank line (LF, CR and CRLF all end a line, as the standard says); an
 * event without a needle is never split into lines nor decoded; a stretch of the stream with no
 * needle at all is skipped whole, one search for it instead of one per event. Splitting on CR/LF
 * bytes is safe for UTF-8 (neither byte occurs inside a multi-byte character), so an event is
 * decoded whole however the stream was cut into chunks.
 */
export class SseParser {
  /** The start of an event the last chunk ended in the middle of (a copy). */
  private carry: Buffer | undefined = undefined;
  private readonly patterns = new NeedlePatterns();

  constructor(
    private readonly onEvent: (event: string | undefined, data: string) => void,
    private readonly needles: SseNeedles = () => undefined,
  ) {}

  /** Feeds one chunk of the stream. */
  push(chunk: Buffer): void {
    const buf = this.carry ? Buffer.concat([this.carry, chunk]) : chunk;
    this.carry = undefined;
    const rest = this.events(buf);
    // A copy: the event's start must not keep (or change with) a chunk its owner may reuse.
    if (rest < buf.length) this.carry = Buffer.from(buf.subarray(rest));
  }

  /** Ends the stream: a last event without its blank line is still dispatched. */
  end(): void {
    const last = this.carry;
    this.carry = undefined;
    if (last && this.wanted(new NeedleHits(last, this.patterns), 0, last.length)) this.event(last);
  }

  /** Handles the complete events of `buf`; returns where the unfinished last one starts. */
  private events(buf: Buffer): number {
    const blank = new BlankLines(buf);
    const hits = new NeedleHits(buf, this.patterns);
    let pos = 0;
    for (;;) {
      // No needle in the rest of the buffer: its complete events are skipped as one.
      const end = this.wanted(hits, pos, buf.length) ? blank.next(pos) : blank.last(pos);
      if (end < 0) return pos;
      if (this.wanted(hits, pos, end)) this.event(buf.subarray(pos, end + 1));
      // Past the blank line's first byte. When that was the CR of a CRLF, the LF left over reads
      // as one more blank line, which dispatches nothing: CRLF split by a chunk needs no care.
      pos = end + 2;
    }
  }

  /** Whether a needle (if there are any) occurs in `[start, end)` of the buffer `hits` searches. */
  private wanted(hits: NeedleHits, start: number, end: number): boolean {
    const needles = this.needles();
    if (needles === undefined) return true;
    const at = hits.first(needles, start);
    return at >= 0 && at < end;
  }

  /**
   * Parses one event's lines (the data and event fields; others are ignored) and hands it over.
   * The event holds no blank line, so an empty line met here (the LF of a CRLF, read as its own
   * line end) is skipped.
   */
  private event(raw: Buffer): void {
    let name: string | undefined = undefined;
    const data: Buffer[] = [];
    for (let start = 0, end = 0; start < raw.length; start = end + 1) {
      end = start;
      while (end < raw.length && raw[end] !== LF && raw[end] !== CR) end++;
      const value = valueOf(raw, start, end, DATA);
      if (value >= 0) data.push(raw.subarray(value, end));
      else {
        const eventName = valueOf(raw, start, end, EVENT);
        if (eventName >= 0) name = raw.toString('utf8', eventName, end);
      }
    }
    if (data.length > 0) this.onEvent(name, joinLines(data));
  }
}

/** The byte pairs that mark a blank line: a line's terminator followed by an empty line's. */
const BLANK_LINE = [Buffer.from('\n\n'), Buffer.from('\n\r'), Buffer.from('\r\r')] as const;

/**
 * Finds the blank lines (ends of events) of one buffer. A line's terminator followed by an empty
 * line's always shows as `\n\n`, `\n\r` or `\r\r` (a CR followed by LF is one terminator, CRLF),
 * and each of those pairs is one. The position returned is the pair's first byte: the end of the
 * event's last line terminator. Each pair's next position is searched again only once passed,
 * so a buffer with no CR costs one search for the CR pairs, not one per event.
 */
class BlankLines {
  private readonly nextAt = [-2, -2, -2];

  constructor(private readonly buf: Buffer) {}

  /** The first blank line at or after `pos`, or -1. */
  next(pos: number): number {
    let best = -1;
    for (let i = 0; i < BLANK_LINE.length; i++) {
      let at = this.nextAt[i]!;
      if (at !== -1 && at < pos) this.nextAt[i] = at = this.buf.indexOf(BLANK_LINE[i]!, pos);
      if (at >= 0 && (best < 0 || at < best)) best = at;
    }
    return best;
  }

  /** The last blank line at or after `pos`, or -1: without CR one backward search for `\n\n`. */
  last(pos: number): number {
    if (this.buf.indexOf(CR, pos) < 0) {
      const at = this.buf.lastIndexOf(BLANK_LINE[0]);
      return at >= pos ? at : -1;
    }
    let last = -1;
    for (let at = this.next(pos); at >= 0; at = this.next(at + 1)) last = at;
    return last;
  }
}

/**
 * The first needle in one buffer at or after a position. All needles are searched in one pass, as
 * a regular expression over the buffer read as latin1 (one character per byte, so positions are
 * byte positions); a hit is searched again only once passed.
 */
class NeedleHits {
  private needles: readonly string[] | undefined = undefined;
  private pattern: RegExp | undefined = undefined;
  private text: string | undefined = undefined;
  private nextAt = -2;

  constructor(
    private readonly buf: Buffer,
    private readonly patterns: NeedlePatterns,
  ) {}

  first(needles: readonly string[], pos: number): number {
    if (needles !== this.needles) {
      this.needles = needles;
      this.pattern = this.patterns.of(needles);
      this.nextAt = -2;
    }
    if (this.nextAt !== -1 && this.nextAt < pos) {
      this.text ??= this.buf.toString('latin1');
      this.pattern!.lastIndex = pos;
      this.nextAt = this.pattern!.exec(this.text)?.index ?? -1;
    }
    return this.nextAt;
  }
}

/**
 * Needles as one global regular expression over latin1 text (each needle's UTF-8 bytes, one
 * character per byte), compiled once per list (a consumer hands out the same arrays).
 */
class NeedlePatterns {
  private needles: readonly string[] | undefined = undefined;
  private pattern = /(?!)/g;

  of(needles: readonly string[]): RegExp {
    if (needles !== this.needles) {
      this.needles = needles;
      const bytes = needles.map((n) => escapeRegExp(Buffer.from(n, 'utf8').toString('latin1')));
      this.pattern = new RegExp(bytes.length > 0 ? bytes.join('|') : '(?!)', 'g');
    }
    return this.pattern;
  }
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

const DATA = Buffer.from('data', 'latin1');
const EVENT = Buffer.from('event', 'latin1');
const NEWLINE = Buffer.from('\n', 'latin1');

/**
 * Where the value of the line `buf[start, end)` starts when the line is field `name` (`name`
 * alone, or `name:` and the value, one leading space dropped); -1 for any other line.
 */
function valueOf(buf: Buffer, start: number, end: number, name: Buffer): number {
  const nameEnd = start + name.length;
  if (nameEnd > end) return -1;
  for (let i = 0; i < name.length; i++) if (buf[start + i] !== name[i]) return -1;
  if (nameEnd === end) return end;
  if (buf[nameEnd] !== COLON) return -1;
  return nameEnd + 1 < end && buf[nameEnd + 1] === SPACE ? nameEnd + 2 : nameEnd + 1;
}

/** Data lines joined with `\n`, decoded. */
function joinLines(lines: readonly Buffer[]): string {
  if (lines.length === 1) return lines[0]!.toString('utf8');
  const parts: Buffer[] = [];
  for (const line of lines) parts.push(line, NEWLINE);
  parts.pop();
  return Buffer.concat(parts).toString('utf8');
}
