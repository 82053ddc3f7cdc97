// Quality metrics of probabilistic predictions of a 0/1 label, as pure functions, and a bounded
// progressive validator (predict, then learn: every prediction is scored on an unseen example).
import { P_MAX, P_MIN } from './ftrl.ts';

type Numbers = ArrayLike<number>;

function checkPair(ps: Numbers, ys: Numbers): number {
  if (ps.length !== ys.length) throw new RangeError(`${ps.length} predictions but ${ys.length} labels`);
  if (ps.length === 0) throw new RangeError('no predictions to score');
  return ps.length;
}

function clamp(p: number): number {
  return p < P_MIN ? P_MIN : p > P_MAX ? P_MAX : p;
}

/**
 * ROC AUC as the Mann-Whitney statistic: the probability that a random positive is ranked above a
 * random negative, ties counting one half (average ranks). O(n log n). Null when only one class.
 */
export function rocAuc(ps: Numbers, ys: Numbers): number | null {
  const n = checkPair(ps, ys);
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => ps[a]! - ps[b]!);
  let positives = 0;
  let positiveRankSum = 0;
  for (let start = 0; start < n; ) {
    let end = start + 1;
    while (end < n && ps[order[end]!] === ps[order[start]!]) end++;
    // ranks start + 1 .. end share their average
    const rank = (start + 1 + end) / 2;
    for (let k = start; k < end; k++) {
      if (ys[order[k]!] === 1) {
        positives++;
        positiveRankSum += rank;
      }
    }
    start = end;
  }
  const negatives = n - positives;
  if (positives === 0 || negatives === 0) return null;
  return (positiveRankSum - (positives * (positives + 1)) / 2) / (positives * negatives);
}

/** Mean negative log-likelihood, predictions clamped to [1e-7, 1 - 1e-7]. */
export function logLoss(ps: Numbers, ys: Numbers): number {
  const n = checkPair(ps, ys);
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const p = clamp(ps[i]!);
    sum -= ys[i] === 1 ? Math.log(p) : Math.log(1 - p);
  }
  return sum / n;
}

/** Mean squared error of the probability. */
export function brierScore(ps: Numbers, ys: Numbers): number {
  const n = checkPair(ps, ys);
  let sum = 0;
  for (let i = 0; i < n; i++) sum += (ps[i]! - ys[i]!) ** 2;
  return sum / n;
}

export interface ReliabilityRow {
  readonly from: number;
  readonly to: number;
  readonly count: number;
  /** Null when the bin is empty. */
  readonly meanPredicted: number | null;
  readonly observedRate: number | null;
}

/** Equal-width bins over [0, 1]; p = 1 falls in the last bin. Every bin is listed, empty ones too. */
export function reliabilityTable(ps: Numbers, ys: Numbers, bins = 10): ReliabilityRow[] {
  const n = checkPair(ps, ys);
  if (!Number.isInteger(bins) || bins < 1) throw new RangeError(`bins must be a positive integer, got ${bins}`);
  const counts = new Float64Array(bins);
  const sumP = new Float64Array(bins);
  const sumY = new Float64Array(bins);
  for (let i = 0; i < n; i++) {
    const p = Math.min(1, Math.max(0, ps[i]!));
    const b = Math.min(bins - 1, Math.floor(p * bins));
    counts[b]!++;
    sumP[b]! += p;
    sumY[b]! += ys[i]!;
  }
  return Array.from({ length: bins }, (_, b) => {
    const count = counts[b]!;
    return {
      from: b / bins,
      to: (b + 1) / bins,
      count,
      meanPredicted: count === 0 ? null : sumP[b]! / count,
      observedRate: count === 0 ? null : sumY[b]! / count,
    };
  });
}

/** Expected calibration error: |mean predicted - observed rate| per bin, weighted by the bin's share. */
export function expectedCalibrationError(ps: Numbers, ys: Numbers, bins = 10): number {
  let ece = 0;
  for (const row of reliabilityTable(ps, ys, bins)) {
    if (row.count > 0) ece += (row.count / ps.length) * Math.abs(row.meanPredicted! - row.observedRate!);
  }
  return ece;
}

export interface QualityReport {
  readonly count: number;
  /** Null while the window is empty (auc: while it holds only one class). */
  readonly auc: number | null;
  readonly logLoss: number | null;
  readonly brier: number | null;
  readonly ece: number | null;
  readonly positiveRate: number | null;
}

/** The last `windowSize` (prediction, label) pairs in a ring; memory is fixed at construction. */
export class ProgressiveValidator {
  readonly #ps: Float64Array;
  readonly #ys: Uint8Array;
  #next = 0;
  #count = 0;

  constructor(windowSize: number) {
    if (!Number.isInteger(windowSize) || windowSize < 1) throw new RangeError(`windowSize must be a positive integer, got ${windowSize}`);
    this.#ps = new Float64Array(windowSize);
    this.#ys = new Uint8Array(windowSize);
  }

  /** Records a prediction made before its label was learned. A NaN prediction is scored as 0.5. */
  add(p: number, y: 0 | 1): void {
    this.#ps[this.#next] = Number.isNaN(p) ? 0.5 : p;
    this.#ys[this.#next] = y === 1 ? 1 : 0;
    this.#next = (this.#next + 1) % this.#ps.length;
    if (this.#count < this.#ps.length) this.#count++;
  }

  report(): QualityReport {
    const count = this.#count;
    if (count === 0) return { count, auc: null, logLoss: null, brier: null, ece: null, positiveRate: null };
    // order inside the window does not matter to any of the metrics
    const ps = this.#ps.subarray(0, count);
    const ys = this.#ys.subarray(0, count);
    let positives = 0;
    for (let i = 0; i < count; i++) positives += ys[i]!;
    return {
      count,
      auc: rocAuc(ps, ys),
      logLoss: logLoss(ps, ys),
      brier: brierScore(ps, ys),
      ece: expectedCalibrationError(ps, ys),
      positiveRate: positives / count,
    };
  }
}
