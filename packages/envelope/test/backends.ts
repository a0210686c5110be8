import { aesGcmWith } from '../src/aes-gcm.js';
import { envelopeBackend, nativeBackend, nodeBackend } from '../src/backend.js';
import { envelopeWith } from '../src/envelope.js';

/**
 * Every envelope backend available here, with `seal`/`open`/`aesGcm` bound to it: the tests run
 * each case through each one. Without the native addon only node:crypto runs (and under CI
 * test/backend.test.ts fails, so the fast path cannot silently go untested).
 */
export const backends = [nodeBackend, ...(nativeBackend ? [nativeBackend] : [])].map((backend) => ({
  name: backend.name,
  backend,
  ...envelopeWith(backend),
  aesGcm: aesGcmWith(backend),
}));

if (nativeBackend === undefined) {
  // eslint-disable-next-line no-console -- a visible note that the native path is not under test
  console.warn(`envelope tests run on node:crypto only: ${envelopeBackend().fallbackReason}`);
}
