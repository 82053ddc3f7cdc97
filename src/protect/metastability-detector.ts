// The metastable signature (Bronson et al., HotOS 2021): the trigger is gone — first attempts are
// back to their usual rate and every backend is up — yet goodput stays low while client retries
// keep the load up. The detector reads one window of counts per tick (time passed in) and says
// whether the fleet looks healthy, degraded (a trigger is present or failures are fresh), or
// metastable (degraded for `sustainMs` with the trigger gone and retries sustaining it).
export type StormState = 'healthy' | 'degraded' | 'metastable';

export interface TrafficWindow {
  /** Client requests that were first attempts, and client retries (attempt > 1). */
  readonly firstAttempts: number;
  readonly retries: number;
  /** Client requests answered with success (status < 500, not 429). */
  readonly successes: number;
  /** All backends healthy and none ejected: capacity is nominally back. */
  readonly isCapacityNominal: boolean;
}

export interface MetastabilityOptions {
  readonly minSuccessRatio: number;
  readonly minRetryShare: number;
  readonly sustainMs: number;
  /** First-attempt rate within this factor of the healthy baseline counts as "trigger gone". */
  readonly loadTolerance: number;
}

export const DEFAULT_METASTABILITY_OPTIONS: MetastabilityOptions = Object.freeze({ minSuccessRatio: 0.9, minRetryShare: 0.3, sustainMs: 5000, loadTolerance: 1.2 });

export interface StormReport {
  readonly state: StormState;
  readonly sinceMs: number;
  readonly successRatio: number;
  readonly retryShare: number;
  readonly firstAttemptRate: number;
  readonly baselineFirstAttemptRate: number;
}

export class MetastabilityDetector {
  readonly #options: MetastabilityOptions;
  #state: StormState = 'healthy';
  #sinceMs = 0;
  #degradedSinceMs = Number.NaN;
  #baselineRate = Number.NaN;
  #lastAt = Number.NaN;
  #last: StormReport;

  constructor(options: MetastabilityOptions = DEFAULT_METASTABILITY_OPTIONS) {
    this.#options = options;
    this.#last = { state: 'healthy', sinceMs: 0, successRatio: 1, retryShare: 0, firstAttemptRate: 0, baselineFirstAttemptRate: 0 };
  }

  get report(): StormReport {
    return this.#last;
  }

  /** One window of traffic ending at `now`; returns the state after it. */
  observe(w: TrafficWindow, now: number): StormReport {
    const seconds = Number.isNaN(this.#lastAt) ? 1 : Math.max(0.001, (now - this.#lastAt) / 1000);
    this.#lastAt = now;
    const total = w.firstAttempts + w.retries;
    // successes are counted when responses end, requests when they arrive: a window can see more
    // of the former, so the ratio is capped at 1
    const successRatio = total === 0 ? 1 : Math.min(1, w.successes / total);
    const retryShare = total === 0 ? 0 : w.retries / total;
    const rate = w.firstAttempts / seconds;
    const o = this.#options;
    const isHealthy = successRatio >= o.minSuccessRatio;
    if (isHealthy) {
      // the baseline learns only from healthy windows: a spike is never its own reference
      this.#baselineRate = Number.isNaN(this.#baselineRate) ? rate : 0.9 * this.#baselineRate + 0.1 * rate;
      this.#degradedSinceMs = Number.NaN;
    } else if (Number.isNaN(this.#degradedSinceMs)) this.#degradedSinceMs = now;
    const isTriggerGone = w.isCapacityNominal && (Number.isNaN(this.#baselineRate) || rate <= o.loadTolerance * this.#baselineRate);
    const isSustained = !isHealthy && now - this.#degradedSinceMs >= o.sustainMs;
    const next: StormState = isHealthy ? 'healthy' : isSustained && isTriggerGone && retryShare >= o.minRetryShare ? 'metastable' : 'degraded';
    if (next !== this.#state) {
      this.#state = next;
      this.#sinceMs = now;
    }
    this.#last = { state: next, sinceMs: this.#sinceMs, successRatio, retryShare, firstAttemptRate: rate, baselineFirstAttemptRate: Number.isNaN(this.#baselineRate) ? 0 : this.#baselineRate };
    return this.#last;
  }
}
