// Percentiles for time-to-remediate. Linear interpolation between closest ranks (Hyndman & Fan type 7,
// the default of numpy and Excel's PERCENTILE.INC): p50 is the usual median, and with one value every
// percentile is that value.

export function percentile(values: readonly number[], p: number): number | null {
  if (p < 0 || p > 100) throw new RangeError(`percentile must be within 0..100, got ${p}`);
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = (p / 100) * (sorted.length - 1);
  const lower = Math.floor(rank);
  const upper = Math.ceil(rank);
  const low = sorted[lower]!;
  const high = sorted[upper]!;
  return Math.round(low + (high - low) * (rank - lower));
}

export function median(values: readonly number[]): number | null {
  return percentile(values, 50);
}
