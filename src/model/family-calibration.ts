// Per client family (user-agent family), how the model's predictions for failed responses compare
// with what those clients then did: mean P(retry) against the observed retry rate. One glance
// tells whether the model has learned that okhttp clients retry a 500 and python clients do not.
// Recent-weighted: past MAX_WEIGHT labels per family, older ones fade (halved together).

const MAX_WEIGHT = 1000;
/** User-agent families are a small fixed set (telemetry/user-agent.ts); this caps odd input anyway. */
const MAX_FAMILIES = 64;

export interface FamilyCalibrationRow {
  readonly family: string;
  readonly failures: number;
  readonly meanPrediction: number;
  /** The mean prediction over about the family's last RECENT_FAILURES failures: what the model says now, its cold start forgotten. */
  readonly recentMeanPrediction: number;
  readonly retryRate: number;
}

interface Tally {
  n: number;
  predicted: number;
  retried: number;
  recent: number;
}

/** The recent mean is an exponential moving average over about this many failures. */
const RECENT_FAILURES = 20;

export function createFamilyCalibration() {
  const tallies = new Map<string, Tally>();
  return {
    /** A labelled failure (5xx, 429, 408, transport error) with the prediction made for it. */
    record(family: string, prediction: number, retried: 0 | 1): void {
      let t = tallies.get(family);
      if (t === undefined) {
        if (tallies.size >= MAX_FAMILIES) return;
        t = { n: 0, predicted: 0, retried: 0, recent: prediction };
        tallies.set(family, t);
      }
      if (t.n >= MAX_WEIGHT) {
        t.n /= 2;
        t.predicted /= 2;
        t.retried /= 2;
      }
      t.n++;
      t.predicted += prediction;
      t.recent += (prediction - t.recent) / Math.min(t.n, RECENT_FAILURES);
      t.retried += retried;
    },
    report(): FamilyCalibrationRow[] {
      return [...tallies].map(([family, t]) => ({ family, failures: Math.round(t.n), meanPrediction: t.predicted / t.n, recentMeanPrediction: t.recent, retryRate: t.retried / t.n })).sort((a, b) => b.failures - a.failures);
    },
  };
}
