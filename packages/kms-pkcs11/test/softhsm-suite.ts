import { spawnSync } from 'node:child_process';
import { describe, it } from '@jest/globals';
import { SOFTHSM_MODULE, softHsmAvailable } from '../src/testing/index.js';

/** Why SoftHSM tests cannot run here, or undefined when they can. */
export const softHsmMissing = softHsmAvailable()
  ? undefined
  : `SoftHSMv2 is not installed (${SOFTHSM_MODULE} missing): apt-get install softhsm2`;

/** Why tests running OpenSC's pkcs11-tool cannot run here, or undefined when they can. */
export const pkcs11ToolMissing =
  spawnSync('sh', ['-c', 'command -v pkcs11-tool'], { stdio: 'ignore' }).status === 0
    ? undefined
    : 'pkcs11-tool is not installed: apt-get install opensc';

/**
 * `describe` for suites that need SoftHSMv2 (and, with `needsPkcs11Tool`, OpenSC's pkcs11-tool):
 * with CI=true a missing tool fails the run (a silent skip would hide that the HSM provider went
 * untested); elsewhere the suite is skipped, saying why and what to install.
 */
export function describeWithSoftHsm(title: string, body: () => void, needsPkcs11Tool = false): void {
  const missing = softHsmMissing ?? (needsPkcs11Tool ? pkcs11ToolMissing : undefined);
  if (!missing) {
    describe(title, body);
    return;
  }
  if (process.env.CI === 'true') {
    describe(title, () => {
      it('needs its tools in CI', () => {
        throw new Error(missing);
      });
    });
    return;
  }
  // eslint-disable-next-line no-console -- the skip must be visible in the run's output
  console.warn(`SKIPPING ${title}: ${missing}`);
  describe.skip(`${title} (${missing})`, body);
}
