import { describe, it } from '@jest/globals';

/**
 * Why suites that claim a real PostgreSQL cannot run here, or undefined when they can. The test run
 * (test/global-setup.js) sets DATABASE_URL when one was given or a server answers on
 * 127.0.0.1:5432; without it the harness would fall back to embedded PGlite, which such a suite
 * must never do silently.
 */
export const realPostgresMissing = process.env.DATABASE_URL
  ? undefined
  : 'no PostgreSQL: set DATABASE_URL or run one on 127.0.0.1:5432 (embedded PGlite does not count)';

/**
 * `describe` for suites whose claim is about a real PostgreSQL (triggers, constraints, roles of the
 * real server): with CI=true a missing server fails the run; elsewhere the suite is skipped, saying
 * why. Inside, `startTestService()` uses that server (DATABASE_URL), never PGlite.
 */
export function describeOnRealPostgres(title: string, body: () => void): void {
  if (!realPostgresMissing) {
    describe(title, body);
    return;
  }
  if (process.env.CI === 'true') {
    describe(title, () => {
      it('needs a real PostgreSQL in CI', () => {
        throw new Error(realPostgresMissing);
      });
    });
    return;
  }
  console.warn(`SKIPPING ${title}: ${realPostgresMissing}`);
  describe.skip(`${title} (${realPostgresMissing})`, body);
}
