import { StringDecoder } from 'node:string_decoder';

/**
 * Incremental parser of a `text/event-stream` (WHATWG HTML "server-sent events"): fed the bytes as
 * they pass through, it calls `onEvent(event, data)` once per complete event (data lines joined
 * with `\n`). It only reads: the relayed bytes are never changed or held back.
 */
export class SseParser {
  private readonly decoder = new StringDecoder('utf8');
  private pending = '';
  private event: string | undefined = undefined;
  private data: string[] = [];

  constructor(private readonly onEvent: (event: string | undefined, data: string) => void) {}

  /** Feeds one chunk of the stream. */
  push(chunk: Buffer): void {
    this.pending += this.decoder.write(chunk);
    let start = 0;
    for (;;) {
      const nl = this.pending.indexOf('\n', start);
      if (nl < 0) break;
      let line = this.pending.slice(start, nl);
      if (line.endsWith('\r')) line = line.slice(0, -1);
      start = nl + 1;
      this.line(line);
    }
    this.pending = this.pending.slice(start);
  }

  /** Ends the stream: a last event without its blank line is still dispatched. */
  end(): void {
    this.pending += this.decoder.end();
    if (this.pending.length > 0) this.line(this.pending);
    this.pending = '';
    this.line('');
  }

  private line(line: string): void {
    if (line === '') {
      if (this.data.length > 0) this.onEvent(this.event, this.data.join('\n'));
      this.event = undefined;
      this.data = [];
      return;
    }
    if (line.startsWith(':')) return;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') this.data.push(value);
    else if (field === 'event') this.event = value;
  }
}
