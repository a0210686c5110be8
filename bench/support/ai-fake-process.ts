/**
 * The loopback AI provider fake (`@byok/ai-fakes`) in a process of its own, as a provider is: the
 * gateway benchmark calls it directly and through the gateway, so neither path shares a process
 * (and an event loop) with the client. Keys it accepts: AI_FAKE_KEYS, comma-separated.
 */
import { startAiFake } from '@byok/ai-fakes';

const fake = await startAiFake({
  validKeys: (process.env.AI_FAKE_KEYS ?? '').split(',').filter(Boolean),
});
process.stdout.write(`ai fake (pid ${process.pid}) listening on ${fake.url}\n`);
process.on('SIGTERM', () => {
  void fake.close().then(() => process.exit(0));
});
