// Arithmetic on successive GET /api/dashboard snapshots, which hold cumulative counters: rates
// over a window, and a window's percentiles as Prometheus' histogram_quantile computes them.
// No DOM, so Node's test runner checks it (stats.test.ts).

/**
 * The start of a window ending at the newest snapshot: the oldest snapshot of `snapshots` (oldest
 * first) at most `seconds` older than the newest. Undefined until a second snapshot exists.
 */
export function windowStart(snapshots, seconds) {
  const last = snapshots[snapshots.length - 1];
  if (last === undefined) return undefined;
  return snapshots.find((s) => s !== last && last.atMs - s.atMs <= seconds * 1000);
}

/** Per second growth of `pick(snapshot)` from `from` to `to`; null without a window. */
export function rate(from, to, pick) {
  if (from === undefined) return null;
  const seconds = (to.atMs - from.atMs) / 1000;
  return seconds > 0 ? Math.max(0, pick(to) - pick(from)) / seconds : null;
}

/** Growth of `numerator` over growth of `denominator`; null when the denominator did not grow. */
export function ratio(from, to, numerator, denominator) {
  if (from === undefined) return null;
  const d = denominator(to) - denominator(from);
  return d > 0 ? Math.max(0, numerator(to) - numerator(from)) / d : null;
}

/** Cumulative bucket counts observed between two histogram snapshots `{le, counts}`. */
export function deltaBuckets(from, to) {
  if (from === undefined || from.counts.length !== to.counts.length) return to.counts.slice();
  return to.counts.map((c, i) => Math.max(0, c - from.counts[i]));
}

/**
 * The q-quantile of cumulative bucket counts with upper bounds `le` (null = +Inf), interpolated
 * linearly inside its bucket; in the +Inf bucket, the highest finite bound. Null when empty.
 */
export function quantile(q, le, cumulative) {
  const total = cumulative[cumulative.length - 1] ?? 0;
  if (total <= 0) return null;
  const rank = q * total;
  const i = cumulative.findIndex((c) => c >= rank);
  const upper = le[i];
  if (upper === null || upper === undefined) return le[i - 1] ?? null;
  const lower = i === 0 ? 0 : le[i - 1];
  const below = i === 0 ? 0 : cumulative[i - 1];
  const inBucket = cumulative[i] - below;
  return inBucket > 0 ? lower + ((upper - lower) * (rank - below)) / inBucket : upper;
}

/** Each bucket's share of the observations (not cumulative); all zeros when there are none. */
export function bucketShares(cumulative) {
  const total = cumulative[cumulative.length - 1] ?? 0;
  return cumulative.map((c, i) => (total > 0 ? (c - (i === 0 ? 0 : cumulative[i - 1])) / total : 0));
}

// Display: a dash where there is no value yet, never "NaN" or "null".
export const DASH = '–';
export const fixed = (v, digits) => (v === null || v === undefined || !Number.isFinite(v) ? DASH : v.toFixed(digits));
export const percent = (v, digits = 1) => (v === null || v === undefined || !Number.isFinite(v) ? DASH : `${(100 * v).toFixed(digits)} %`);
export const millis = (v) => (v === null || v === undefined || !Number.isFinite(v) ? DASH : v < 10 ? `${v.toFixed(1)} ms` : `${Math.round(v)} ms`);
