// Scores Sibyl's predictions and labels against the clients' ground truth, for one group of
// attempts (a profile, a library). Pure: numbers in, numbers out.
import type { AttemptRecord } from './attempt-recorder.ts';
import type { SibylRecord } from './sibyl-records.ts';

/** Log loss clips every prediction (Sibyl's and the baseline's) to [CLIP, 1 - CLIP]: sklearn's eps. */
export const CLIP = 1e-15;
const BINS = 10;

export interface GroupScore {
  /** Attempts of finished logical requests. */
  readonly attempts: number;
  readonly truthRetries: number;
  /** Attempts that got a response (with Sibyl's request id) back. */
  readonly responses: number;
  /** Attempts that got no response (transport error or a client-side timeout). */
  readonly transportErrors: number;
  readonly predicted: number;
  readonly predictedFromTelemetry: number;
  readonly predictedFromAccessLog: number;
  readonly coverage: number | null;
  /** Truth positives among the responses. */
  readonly positives: number;
  readonly auc: number | null;
  readonly ece: number | null;
  readonly logLoss: number | null;
  readonly baselineLogLoss: number | null;
  /** Set when the predicted responses hold one class only: then the in-sample per-status baseline is trivially perfect. */
  readonly logLossOneClass: 'no positive' | 'no negative' | undefined;
  /** Responses whose Sibyl label is 0 or 1; null labels; responses Sibyl wrote no label for. */
  readonly labelled: number;
  readonly nullLabels: number;
  readonly missingLabels: number;
  readonly agreement: number | null;
  readonly sibylRetried: number;
  readonly precision: number | null;
  readonly recall: number | null;
  /** 2xx responses that Sibyl labelled retried: a success is never retried by these clients. */
  readonly successesLabelledRetried: number;
}

export const clip = (p: number): number => Math.min(1 - CLIP, Math.max(CLIP, p));
const ratio = (a: number, b: number): number | null => (b === 0 ? null : a / b);

/** ROC AUC by the rank-sum (Mann-Whitney) formula, ties averaged; null without both classes. */
export function rocAuc(scores: readonly number[], labels: readonly (0 | 1)[]): number | null {
  const positives = labels.filter((l) => l === 1).length;
  const negatives = labels.length - positives;
  if (positives === 0 || negatives === 0) return null;
  const order = scores.map((s, i) => [s, i] as const).sort((a, b) => a[0] - b[0]);
  let rankSum = 0;
  for (let i = 0; i < order.length; ) {
    let j = i;
    while (j + 1 < order.length && order[j + 1]![0] === order[i]![0]) j++;
    const averageRank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) if (labels[order[k]![1]] === 1) rankSum += averageRank;
    i = j + 1;
  }
  return (rankSum - (positives * (positives + 1)) / 2) / (positives * negatives);
}

/** Expected calibration error: 10 equal-width bins, each weighted by its share of the samples. */
export function expectedCalibrationError(scores: readonly number[], labels: readonly (0 | 1)[]): number | null {
  if (scores.length === 0) return null;
  const sums = Array.from({ length: BINS }, () => ({ n: 0, p: 0, y: 0 }));
  scores.forEach((s, i) => {
    const bin = sums[Math.min(BINS - 1, Math.floor(s * BINS))]!;
    bin.n++;
    bin.p += s;
    bin.y += labels[i]!;
  });
  return sums.reduce((acc, b) => acc + (b.n === 0 ? 0 : (b.n / scores.length) * Math.abs(b.p / b.n - b.y / b.n)), 0);
}

export function logLoss(scores: readonly number[], labels: readonly (0 | 1)[]): number | null {
  if (scores.length === 0) return null;
  return -scores.reduce((acc, s, i) => acc + (labels[i] === 1 ? Math.log(clip(s)) : Math.log(1 - clip(s))), 0) / scores.length;
}

/** The per-status baseline: each response predicted by the truth retry rate of its status, on these same responses. */
export function perStatusBaseline(statuses: readonly number[], labels: readonly (0 | 1)[]): number[] {
  const byStatus = new Map<number, { n: number; y: number }>();
  statuses.forEach((s, i) => {
    const cell = byStatus.get(s) ?? { n: 0, y: 0 };
    cell.n++;
    cell.y += labels[i]!;
    byStatus.set(s, cell);
  });
  return statuses.map((s) => {
    const cell = byStatus.get(s)!;
    return clip(cell.y / cell.n);
  });
}

export function scoreGroup(attempts: readonly AttemptRecord[], sibyl: ReadonlyMap<string, SibylRecord>): GroupScore {
  const responses = attempts.filter((a) => a.requestId !== undefined);
  const scored = responses.flatMap((a) => {
    const s = sibyl.get(a.requestId!);
    return s?.prediction === undefined ? [] : [{ a, s, p: s.prediction }];
  });
  const scores = scored.map((x) => x.p);
  const labels = scored.map((x) => x.a.truth);
  const baseline = perStatusBaseline(
    scored.map((x) => x.a.status ?? 0),
    labels,
  );
  let labelled = 0;
  let nullLabels = 0;
  let agree = 0;
  let sibylRetried = 0;
  let truePositives = 0;
  let successesLabelledRetried = 0;
  for (const a of responses) {
    const label = sibyl.get(a.requestId!)?.retried;
    if (label === null) nullLabels++;
    if (label !== 0 && label !== 1) continue;
    labelled++;
    if (label === a.truth) agree++;
    if (label === 1) {
      sibylRetried++;
      if (a.truth === 1) truePositives++;
      if (a.status !== undefined && a.status >= 200 && a.status < 300) successesLabelledRetried++;
    }
  }
  const positives = responses.filter((a) => a.truth === 1).length;
  const labelledPositives = responses.filter((a) => a.truth === 1 && [0, 1].includes(sibyl.get(a.requestId!)?.retried as number)).length;
  return {
    attempts: attempts.length,
    truthRetries: attempts.filter((a) => a.truth === 1).length,
    responses: responses.length,
    transportErrors: attempts.length - responses.length,
    predicted: scored.length,
    predictedFromTelemetry: scored.filter((x) => x.s.predictionSource === 'telemetry').length,
    predictedFromAccessLog: scored.filter((x) => x.s.predictionSource === 'access-log').length,
    coverage: ratio(scored.length, responses.length),
    positives,
    auc: rocAuc(scores, labels),
    ece: expectedCalibrationError(scores, labels),
    logLoss: logLoss(scores, labels),
    baselineLogLoss: logLoss(baseline, labels),
    logLossOneClass: labels.length === 0 ? undefined : !labels.includes(1) ? 'no positive' : !labels.includes(0) ? 'no negative' : undefined,
    labelled,
    nullLabels,
    missingLabels: responses.length - labelled - nullLabels,
    agreement: ratio(agree, labelled),
    sibylRetried,
    precision: ratio(truePositives, sibylRetried),
    recall: ratio(truePositives, labelledPositives),
    successesLabelledRetried,
  };
}
