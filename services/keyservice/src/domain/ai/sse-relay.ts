import type { Readable, Writable } from 'node:stream';

/** Why a relay ended early: the caller went away, or upstream broke off mid-stream. */
export type RelayEnd = 'client-disconnected' | 'upstream-broke-off';

/** What the relay passes every chunk through before the caller sees it (the key scrubber). */
export interface ChunkScrubber {
  /**
   * Hands `emit` what of `chunk` (and of what it held before) may be written now, in order, and
   * may hold some back.
   */
  push(chunk: Buffer, emit: (piece: Buffer) => void): void;
  /** What is still held, at the stream's end. */
  end(): Buffer;
  /** Forgets what is held (the stream ended early: nothing more is written). */
  drop(): void;
}

/**
 * Relays `body` (upstream's stream) to `res` (the caller) as it arrives, through `scrub`, showing
 * each written chunk to `observe` first. Pipe discipline by hand (one hop, no extra stream): when
 * the caller's side is full, upstream is paused until it drains, so a slow caller slows the provider
 * instead of filling our memory. Either side closing ends the other: the caller's close destroys the
 * upstream socket (the provider sees the request cancelled). Resolves with why it ended early, or
 * undefined when upstream finished and `res` ended. A prefix `scrub` still holds is written at the
 * end, and dropped when either side broke off.
 *
 * Writes are coalesced per event-loop turn (see {@link TurnCoalescer}): upstream sends each SSE
 * event as its own small HTTP chunk and one socket read holds hundreds of them; written one by one,
 * each would be a chunk header for the caller to parse and work in our write syscall (on loopback
 * that syscall also does the receiver's TCP work). Bytes are relayed in order, unchanged but for
 * what `scrub` replaces; it sees the coalesced chunks (fewer calls), the first one at once, and
 * hands each on whole unless it held or replaced something (then as the pieces around that).
 */
export function relaySse(
  body: Readable,
  res: Writable,
  observe: (chunk: Buffer) => void,
  scrub: ChunkScrubber,
): Promise<RelayEnd | undefined> {
  return new Promise((resolve) => {
    const send = (chunk: Buffer) => {
      if (chunk.length === 0) return;
      observe(chunk);
      if (!res.write(chunk)) body.pause();
    };
    const out = new TurnCoalescer((chunk) => scrub.push(chunk, send));
    const done = (reason?: RelayEnd) => {
      body.off('data', onData);
      res.off('drain', onDrain);
      resolve(reason);
    };
    const onData = (chunk: Buffer) => out.push(chunk);
    const onDrain = () => body.resume();
    body.on('data', onData);
    res.on('drain', onDrain);
    body.once('end', () => {
      out.flush();
      send(scrub.end());
      res.end();
      done();
    });
    body.once('error', () => {
      out.flush();
      scrub.drop();
      res.destroy();
      done('upstream-broke-off');
    });
    res.once('close', () => {
      if (res.writableFinished) return;
      out.drop();
      scrub.drop();
      body.destroy();
      done('client-disconnected');
    });
  });
}

/** Bytes held in one turn before they are written anyway: one turn can read megabytes from a fast upstream. */
export const MAX_HELD_BYTES = 64 * 1024;

/**
 * Hands chunks to `write`, coalesced: the stream's first chunk at once (the caller's time to first
 * byte is unchanged), each later one held until the end of the event-loop turn it arrived in
 * (setImmediate runs once the turn's I/O callbacks are done) and written together with the others
 * of that turn, or as soon as {@link MAX_HELD_BYTES} are held. Nothing waits past its turn.
 */
export class TurnCoalescer {
  private started = false;
  private held: Buffer[] = [];
  private heldBytes = 0;
  private turnEnd: NodeJS.Immediate | undefined = undefined;

  constructor(private readonly write: (chunk: Buffer) => void) {}

  push(chunk: Buffer): void {
    if (!this.started) {
      this.started = true;
      this.write(chunk);
      return;
    }
    this.held.push(chunk);
    this.heldBytes += chunk.length;
    if (this.heldBytes >= MAX_HELD_BYTES) this.flush();
    else this.turnEnd ??= setImmediate(() => this.flush());
  }

  /** Writes what is held, as one chunk (the turn ended, enough is held, or the stream ended). */
  flush(): void {
    this.cancelTurnEnd();
    if (this.held.length === 0) return;
    const chunk = this.held.length === 1 ? this.held[0]! : Buffer.concat(this.held, this.heldBytes);
    this.held = [];
    this.heldBytes = 0;
    this.write(chunk);
  }

  /** Forgets what is held (the caller is gone). */
  drop(): void {
    this.cancelTurnEnd();
    this.held = [];
    this.heldBytes = 0;
  }

  private cancelTurnEnd(): void {
    if (this.turnEnd) clearImmediate(this.turnEnd);
    this.turnEnd = undefined;
  }
}
