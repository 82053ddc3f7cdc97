// Offline evaluation on a held-out LATER time slice: events are ordered by start time, the last
// `testFraction` is the test slice, the baselines are fitted on what comes before it, and the
// model and the baselines are scored on the test slice without learning from it.
import type { LabelledEvent } from '../telemetry/attempt-event.ts';
import { createPerStatusBaseline, createStatusAbove500Baseline } from './baselines.ts';
import type { FeatureInput } from './features.ts';
import { brierScore, expectedCalibrationError, logLoss, reliabilityTable, rocAuc, type ReliabilityRow } from './quality.ts';

export interface SplitEvents {
  readonly train: LabelledEvent[];
  readonly test: LabelledEvent[];
}

export function timeOrderedSplit(events: readonly LabelledEvent[], testFraction: number): SplitEvents {
  const sorted = [...events].sort((a, b) => (a.startedAtMs ?? 0) - (b.startedAtMs ?? 0));
  const cut = Math.floor(sorted.length * (1 - testFraction));
  return { train: sorted.slice(0, cut), test: sorted.slice(cut) };
}

export interface Scores {
  readonly count: number;
  readonly auc: number | null;
  readonly logLoss: number;
  readonly brier: number;
  readonly ece: number;
}

export function score(ps: Float64Array, ys: Uint8Array): Scores {
  return { count: ps.length, auc: rocAuc(ps, ys), logLoss: logLoss(ps, ys), brier: brierScore(ps, ys), ece: expectedCalibrationError(ps, ys) };
}

export interface EvaluationReport {
  readonly trainEvents: number;
  readonly testEvents: number;
  readonly testFromMs: number;
  readonly positiveRate: number;
  readonly model: Scores;
  readonly baselines: { readonly status5xx: Scores; readonly perStatus: Scores };
  readonly reliability: ReliabilityRow[];
}

export function evaluate(predict: (input: FeatureInput) => number, split: SplitEvents): EvaluationReport {
  const status5xx = createStatusAbove500Baseline();
  const perStatus = createPerStatusBaseline();
  for (const e of split.train) {
    status5xx.learn(e, e.retried);
    perStatus.learn(e, e.retried);
  }
  const n = split.test.length;
  const ys = new Uint8Array(n);
  const model = new Float64Array(n);
  const b1 = new Float64Array(n);
  const b2 = new Float64Array(n);
  let positives = 0;
  split.test.forEach((e, i) => {
    ys[i] = e.retried;
    positives += e.retried;
    model[i] = predict(e);
    b1[i] = status5xx.predict(e);
    b2[i] = perStatus.predict(e);
  });
  return {
    trainEvents: split.train.length,
    testEvents: n,
    testFromMs: split.test[0]?.startedAtMs ?? 0,
    positiveRate: n === 0 ? 0 : positives / n,
    model: score(model, ys),
    baselines: { status5xx: score(b1, ys), perStatus: score(b2, ys) },
    reliability: reliabilityTable(model, ys, 10),
  };
}
