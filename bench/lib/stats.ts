/** Summary of per-round rates (ops/s). */
export interface RateStats {
  median: number;
  min: number;
  max: number;
  q1: number;
  q3: number;
  /** (q3 - q1) / median: relative spread, robust to one outlier round. */
  iqrRatio: number;
}

/** Linear-interpolated quantile of ascending `sorted`, q in [0, 1]. */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  const a = sorted[lo] as number;
  const b = sorted[hi] as number;
  return a + (b - a) * (pos - lo);
}

/** Median, extremes and interquartile range of `values`. */
export function summarize(values: readonly number[]): RateStats {
  const sorted = [...values].sort((a, b) => a - b);
  const median = quantile(sorted, 0.5);
  const q1 = quantile(sorted, 0.25);
  const q3 = quantile(sorted, 0.75);
  return {
    median,
    min: sorted[0] ?? Number.NaN,
    max: sorted[sorted.length - 1] ?? Number.NaN,
    q1,
    q3,
    iqrRatio: median > 0 ? (q3 - q1) / median : Number.NaN,
  };
}

/**
 * Median over rounds of a[i] / b[i]. Rounds of one group run interleaved, so each pair was measured
 * moments apart: on a noisy machine this is steadier than the ratio of the two medians.
 */
export function pairedRatio(a: readonly number[], b: readonly number[]): number {
  const n = Math.min(a.length, b.length);
  const ratios: number[] = [];
  for (let i = 0; i < n; i++) ratios.push((a[i] as number) / (b[i] as number));
  return quantile(
    ratios.sort((x, y) => x - y),
    0.5,
  );
}
