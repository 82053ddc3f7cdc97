// How long clients take to retry a failure: the delays between a failed attempt's end and its
// retry, over the last SAMPLES retries. Its high quantile tells how long after a failure the learner
// takes it (retry-labeller.ts learnAfterMs): long enough that most retries have come, far shorter
// than the retry window (30 s), whose wait would leave the model behind the traffic for half a minute.

const SAMPLES = 128;
/** Recomputed every this many samples: a sort of 128 numbers, on retries only. */
const EVERY = 16;
const QUANTILE = 0.9;
/** The learning delay is this many times the quantile: most retries are in by then, a late one corrects its 0. */
const FACTOR = 1.5;
/** Before any retry was seen; and the least delay, whatever the retries. */
export const DEFAULT_LEARN_AFTER_MS = 5000;
const MIN_LEARN_AFTER_MS = 1000;

export class RetryDelayEstimate {
  readonly #delays = new Float64Array(SAMPLES);
  #count = 0;
  #quantileMs = Number.NaN;

  observe(delayMs: number): void {
    if (!Number.isFinite(delayMs) || delayMs < 0) return;
    this.#delays[this.#count % SAMPLES] = delayMs;
    this.#count++;
    if (this.#count % EVERY === 0) {
      const sorted = this.#delays.slice(0, Math.min(this.#count, SAMPLES)).sort();
      this.#quantileMs = sorted[Math.min(sorted.length - 1, Math.floor(QUANTILE * sorted.length))] as number;
    }
  }

  /** 1.5 x the 90th percentile of recent retry delays, within [1 s, window]; 5 s until known. */
  learnAfterMs(windowMs: number): number {
    const ms = Number.isNaN(this.#quantileMs) ? DEFAULT_LEARN_AFTER_MS : Math.max(MIN_LEARN_AFTER_MS, FACTOR * this.#quantileMs);
    return Math.min(ms, windowMs);
  }
}
