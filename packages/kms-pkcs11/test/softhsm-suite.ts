import { describe, it } from '@jest/globals';
import { SOFTHSM_MODULE, softHsmAvailable } from '../src/testing/index.js';

/** Why SoftHSM tests cannot run here, or undefined when they can. */
export const softHsmMissing = softHsmAvailable()
  ? undefined
  : `SoftHSMv2 is not installed (${SOFTHSM_MODULE} missing): apt-get install softhsm2`;

/**
 * `describe` for suites that need SoftHSMv2: with CI=true a missing library fails the run (a
 * silent skip would hide that the HSM provider went untested); elsewhere it skips, saying why.
 */
export function describeWithSoftHsm(title: string, body: () => void): void {
  if (!softHsmMissing) {
    describe(title, body);
    return;
  }
  if (process.env.CI === 'true') {
    describe(title, () => {
      it('needs SoftHSMv2 in CI', () => {
        throw new Error(softHsmMissing);
      });
    });
    return;
  }
  // eslint-disable-next-line no-console -- the skip must be visible in the run's output
  console.warn(`SKIPPING ${title}: ${softHsmMissing}`);
  describe.skip(`${title} (${softHsmMissing})`, body);
}
