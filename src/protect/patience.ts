// The clients' patience, learned rather than configured: how long a client waits before it gives
// up on an attempt, observed from client disconnects and from retries that arrive while the
// previous attempt is still in flight. A queue deadline below it keeps Sibyl from serving
// requests nobody waits for any more (HAProxy's tuning rule, learned). The simulator uses this
// same estimator.

/** Recent give-ups remembered; old ones fall out, so the estimate follows the clients. */
const WINDOW = 256;
/**
 * The impatient tail, not the mean: with clients of 1 s and 2 s timeouts mixed, a deadline from
 * the mean would let the 1 s clients give up in the queue.
 */
const TAIL_QUANTILE = 0.1;
/**
 * A quarter of the tail is left for the service time after the wait. Half (the first choice) shed
 * requests that would have been served in time: in the simulator's load spike it cost 3 % of the
 * capacity and 0.1 more client attempts per request (sim/storm, seeds 1-3).
 */
const DEADLINE_SHARE = 0.75;

/** The shortest deadline: below it a queue could not hold a request through one event-loop turn. */
const MIN_DEADLINE_MS = 20;

export class PatienceEstimator {
  readonly #defaultMs: number;
  readonly #waits: number[] = [];
  #next = 0;
  #samples = 0;
  #tailMs = Number.NaN;
  #isStale = false;

  constructor(defaultMs: number) {
    this.#defaultMs = defaultMs;
  }

  get samples(): number {
    return this.#samples;
  }

  /** A client gave up after waitedMs. */
  observe(waitedMs: number): void {
    if (!(waitedMs > 0)) return;
    this.#samples++;
    if (this.#waits.length < WINDOW) this.#waits.push(waitedMs);
    else this.#waits[this.#next] = waitedMs;
    this.#next = (this.#next + 1) % WINDOW;
    this.#isStale = true;
  }

  /** The queue deadline: three quarters of the impatient tail of observed give-ups, within [20 ms, maxMs]; before any sample, the default (at most maxMs). */
  deadlineMs(maxMs: number): number {
    if (this.#waits.length === 0) return Math.min(maxMs, this.#defaultMs);
    if (this.#isStale) {
      // sorting 256 numbers happens only after a give-up, never per request
      const sorted = Float64Array.from(this.#waits).sort();
      this.#tailMs = sorted[Math.min(sorted.length - 1, Math.floor(TAIL_QUANTILE * sorted.length))] as number;
      this.#isStale = false;
    }
    return Math.max(MIN_DEADLINE_MS, Math.min(maxMs, DEADLINE_SHARE * this.#tailMs));
  }
}
