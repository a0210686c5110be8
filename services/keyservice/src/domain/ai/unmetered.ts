import type { AiMeteringPort, UsageObserver } from './metering-port.js';

const NOTHING_OBSERVED: UsageObserver = {
  json: () => undefined,
  sseEvent: () => undefined,
  usage: () => undefined,
  model: () => undefined,
};

/**
 * The placeholder metering: reserves nothing, reads nothing, costs nothing. The gateway runs with
 * it until the real metering (usage, prices, caps) is wired in its place; tests use it too.
 */
export const UNMETERED: AiMeteringPort = {
  reserve: () => Promise.resolve({ id: 'unmetered', reservedMicros: 0 }),
  observer: () => NOTHING_OBSERVED,
  settle: () => Promise.resolve({ costMicros: undefined }),
  release: () => Promise.resolve(),
};
