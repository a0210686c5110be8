import { AppError } from '../../errors.js';
import { REDACTED } from './key-scrubber.js';
import type { ChunkScrubber } from './sse-relay.js';

const REDACTED_BYTES = Buffer.from(REDACTED, 'utf8');
const EMPTY = Buffer.alloc(0);

/**
 * Removes the tenant's key from a relayed stream chunk by chunk, as the buffered path does from a
 * whole body: every occurrence becomes {@link REDACTED}, one split across chunks included. It holds
 * back only the end of a chunk that may be the start of the key (the longest suffix that is a proper
 * prefix of it), so an SSE event, which ends in a blank line, is never held. Its work per chunk is
 * one native `indexOf` of the key and a look at the chunk's last key-length bytes (plus, after a
 * held prefix, an `indexOf` over that prefix and the next chunk's first key-length bytes). Nothing
 * is copied but a held prefix: a chunk without the key is handed on as it is, and a chunk with one
 * (or after a held prefix) as the pieces around it.
 */
export class StreamKeyScrubber implements ChunkScrubber {
  private readonly key: Buffer;
  /** The end of the stream so far that may be the start of the key: a proper prefix of it, or empty. */
  private held: Buffer = EMPTY;

  constructor(key: string) {
    if (key.length === 0) throw new AppError('INTERNAL', 'the stream scrubber needs a key to look for');
    this.key = Buffer.from(key, 'utf8');
  }

  push(chunk: Buffer, emit: (piece: Buffer) => void): void {
    const held = this.held;
    if (held.length === 0) return this.scan(chunk, 0, emit);
    const k = this.key.length;
    // A short chunk and the held prefix are together under two keys long: scan them as one.
    if (chunk.length < k) return this.scan(Buffer.concat([held, chunk]), 0, emit);
    // A key that starts in the held prefix ends within the chunk's first key-length - 1 bytes.
    const at = Buffer.concat([held, chunk.subarray(0, k - 1)]).indexOf(this.key);
    if (at >= 0 && at < held.length) {
      if (at > 0) emit(held.subarray(0, at));
      emit(REDACTED_BYTES);
      return this.scan(chunk, at + k - held.length, emit);
    }
    emit(held);
    this.scan(chunk, 0, emit);
  }

  end(): Buffer {
    const rest = this.held;
    this.held = EMPTY;
    return rest;
  }

  drop(): void {
    this.held = EMPTY;
  }

  /** Hands on `buf` from `from` with each key replaced, holding back the longest suffix that may start it. */
  private scan(buf: Buffer, from: number, emit: (piece: Buffer) => void): void {
    let pos = from;
    for (let at = buf.indexOf(this.key, pos); at >= 0; at = buf.indexOf(this.key, pos)) {
      if (at > pos) emit(buf.subarray(pos, at));
      emit(REDACTED_BYTES);
      pos = at + this.key.length;
    }
    const hold = this.prefixAtEnd(buf, pos);
    this.held = hold === 0 ? EMPTY : Buffer.from(buf.subarray(buf.length - hold));
    const end = buf.length - hold;
    if (end > pos) emit(pos === 0 && hold === 0 ? buf : buf.subarray(pos, end));
  }

  /** Length of the longest suffix of `buf[from..]` that is a proper prefix of the key (0 if none). */
  private prefixAtEnd(buf: Buffer, from: number): number {
    const first = this.key[0]!;
    // Candidates are the key's first byte among the last key-length - 1 bytes, earliest (longest) first.
    for (
      let at = buf.indexOf(first, Math.max(from, buf.length - this.key.length + 1));
      at >= 0;
      at = buf.indexOf(first, at + 1)
    ) {
      if (buf.compare(this.key, 0, buf.length - at, at) === 0) return buf.length - at;
    }
    return 0;
  }
}
