import type { Readable, Writable } from 'node:stream';

/**
 * Relays `body` (upstream's stream) to `res` (the caller) chunk by chunk as it arrives, showing
 * each chunk to `observe` first. Pipe discipline by hand (one hop, no extra stream): when the
 * caller's side is full, upstream is paused until it drains, so a slow caller slows the provider
 * instead of filling our memory. Either side closing ends the other: the caller's close destroys
 * the upstream socket (the provider sees the request cancelled). Resolves with why it ended early
 * (`client-disconnected`, `upstream-broke-off`), or undefined when upstream finished and `res` ended.
 */
export function relaySse(
  body: Readable,
  res: Writable,
  observe: (chunk: Buffer) => void,
): Promise<'client-disconnected' | 'upstream-broke-off' | undefined> {
  return new Promise((resolve) => {
    const done = (reason?: 'client-disconnected' | 'upstream-broke-off') => {
      body.off('data', onData);
      res.off('drain', onDrain);
      resolve(reason);
    };
    const onData = (chunk: Buffer) => {
      observe(chunk);
      if (!res.write(chunk)) body.pause();
    };
    const onDrain = () => body.resume();
    body.on('data', onData);
    res.on('drain', onDrain);
    body.once('end', () => {
      res.end();
      done();
    });
    body.once('error', () => {
      res.destroy();
      done('upstream-broke-off');
    });
    res.once('close', () => {
      if (res.writableFinished) return;
      body.destroy();
      done('client-disconnected');
    });
  });
}
