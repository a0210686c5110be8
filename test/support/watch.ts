/** What {@link watchUntil} saw on one instance, timed from the triggering call. */
export interface Watch<R> {
  /** The first reply for which `changed` held. */
  first: R;
  /** When that reply arrived, in ms after `since`. */
  atMs: number;
  /** When the last unchanged reply (e.g. the last 200) was sent, in ms after `since`; undefined if none. */
  lastUnchangedSentMs: number | undefined;
  /** Unchanged replies seen after the first changed one (the refusal point): must be none. */
  unchangedAfter: R[];
}

/**
 * Polls `call` every `intervalMs` until `changed(reply)` holds, then keeps polling for `holdMs` to
 * catch any reply that flips back. Times are measured from `since` (taken just before the
 * triggering call). Throws when nothing changed within `deadlineMs` of `since`. Run one per
 * instance with `Promise.all` so every instance is watched at once.
 */
export async function watchUntil<R>(
  what: string,
  call: () => Promise<R>,
  changed: (r: R) => boolean,
  opts: { since: number; deadlineMs: number; holdMs?: number; intervalMs?: number },
): Promise<Watch<R>> {
  const interval = opts.intervalMs ?? 25;
  let first: { r: R; at: number } | undefined;
  let lastUnchangedSent: number | undefined;
  const unchangedAfter: R[] = [];
  for (;;) {
    const sent = Date.now();
    const r = await call();
    const at = Date.now();
    if (changed(r)) first ??= { r, at };
    else if (first) unchangedAfter.push(r);
    else lastUnchangedSent = sent;
    if (first && at - first.at >= (opts.holdMs ?? 0)) break;
    if (!first && at - opts.since > opts.deadlineMs)
      throw new Error(`${what}: no change within ${opts.deadlineMs} ms (last reply: ${JSON.stringify(r)})`);
    await new Promise((res) => setTimeout(res, interval));
  }
  return {
    first: first.r,
    atMs: first.at - opts.since,
    lastUnchangedSentMs: lastUnchangedSent === undefined ? undefined : lastUnchangedSent - opts.since,
    unchangedAfter,
  };
}
