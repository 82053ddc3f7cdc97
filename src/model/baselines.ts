// Two online baselines the retry model must beat, scored on the same events (predict, then learn):
// what a rule of thumb ("5xx gets retried") and a per-status lookup table would predict.
import type { FeatureInput } from './features.ts';

export interface OnlinePredictor {
  predict(input: FeatureInput): number;
  /** Learns one labelled example; returns the prediction made before learning it. */
  learn(input: FeatureInput, retried: 0 | 1): number;
}

function isFailure(input: FeatureInput): boolean {
  return input.status >= 500 || (input.errorKind !== undefined && input.errorKind !== 'none');
}

/** P(retried | status >= 500 or a transport error) vs P(retried | otherwise), Laplace-smoothed. */
export function createStatusAbove500Baseline(): OnlinePredictor {
  // [0] = otherwise, [1] = failure
  const retried = new Float64Array(2);
  const seen = new Float64Array(2);
  const predict = (input: FeatureInput): number => {
    const k = isFailure(input) ? 1 : 0;
    return (retried[k]! + 1) / (seen[k]! + 2);
  };
  return {
    predict,
    learn(input, y) {
      const p = predict(input);
      const k = isFailure(input) ? 1 : 0;
      seen[k]!++;
      retried[k]! += y;
      return p;
    },
  };
}

const OTHER_STATUS = 1000;
/** How many pseudo-observations of the global rate a status starts with. */
const PRIOR_WEIGHT = 2;

/** P(retried | exact status), smoothed towards the (Laplace-smoothed) global retry rate. */
export function createPerStatusBaseline(): OnlinePredictor {
  const retried = new Float64Array(OTHER_STATUS + 1);
  const seen = new Float64Array(OTHER_STATUS + 1);
  let retriedAll = 0;
  let seenAll = 0;
  const slot = (status: number): number => (Number.isInteger(status) && status >= 0 && status < OTHER_STATUS ? status : OTHER_STATUS);
  const predict = (input: FeatureInput): number => {
    const k = slot(input.status);
    const prior = (retriedAll + 1) / (seenAll + 2);
    return (retried[k]! + PRIOR_WEIGHT * prior) / (seen[k]! + PRIOR_WEIGHT);
  };
  return {
    predict,
    learn(input, y) {
      const p = predict(input);
      const k = slot(input.status);
      seen[k]!++;
      retried[k]! += y;
      seenAll++;
      retriedAll += y;
      return p;
    },
  };
}
