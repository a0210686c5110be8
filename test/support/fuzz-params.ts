import type { Parameters } from 'fast-check';

/** Cases per property in CI; `pnpm fuzz` sets FUZZ_RUNS (100,000 by default) for a long run. */
export const CI_RUNS = 2000;

/**
 * fast-check parameters of a fuzz property: `FUZZ_RUNS` cases (else `ciRuns`), and a replay when
 * `FUZZ_SEED` (and optionally `FUZZ_PATH`) are set: fast-check prints both when a property fails,
 * e.g. `FUZZ_SEED=-1234 FUZZ_PATH="7:1:0" pnpm fuzz`.
 */
export function fuzzParams<T>(ciRuns = CI_RUNS): Parameters<T> {
  // Test support: the fuzz knobs come from the environment of the test run.
  const env = process.env;
  const runs = env.FUZZ_RUNS ? Number(env.FUZZ_RUNS) : ciRuns;
  if (!Number.isSafeInteger(runs) || runs < 1) throw new Error(`FUZZ_RUNS must be a positive integer`);
  const params: Parameters<T> = { numRuns: runs, endOnFailure: true };
  if (env.FUZZ_SEED) {
    params.seed = Number(env.FUZZ_SEED);
    if (env.FUZZ_PATH) params.path = env.FUZZ_PATH;
  }
  return params;
}

/** A longer per-test timeout for a property of `runs` cases at about `msPerCase` each (at least 60 s). */
export function fuzzTimeout(msPerCase: number, ciRuns = CI_RUNS): number {
  const runs = process.env.FUZZ_RUNS ? Number(process.env.FUZZ_RUNS) : ciRuns;
  return Math.max(60_000, runs * msPerCase * 4);
}
