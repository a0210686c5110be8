import { aesGcmWith } from '../src/aes-gcm.js';
import { loadNativeBackend, nodeBackend } from '../src/backend.js';
import { envelopeWith } from '../src/envelope.js';

const native = loadNativeBackend();

/** The native backend when it is built here (`pnpm --filter @byok/envelope build:native`). */
export const nativeBackend = 'backend' in native ? native.backend : undefined;
/** Why the native backend is not under test, when it is not. */
export const nativeUnavailable = 'reason' in native ? native.reason : undefined;

/**
 * Every envelope backend available here, with `seal`/`open`/`aesGcm` bound to it: the tests run
 * each case through each one. Without the native addon only node:crypto runs (and under CI
 * test/backend.test.ts fails, so the opt-in backend cannot silently go untested).
 */
export const backends = [nodeBackend, ...(nativeBackend ? [nativeBackend] : [])].map((backend) => ({
  name: backend.name,
  backend,
  ...envelopeWith(backend),
  aesGcm: aesGcmWith(backend),
}));

if (nativeBackend === undefined) {
  // eslint-disable-next-line no-console -- a visible note that the native path is not under test
  console.warn(`envelope tests run on node:crypto only: ${nativeUnavailable}`);
}
