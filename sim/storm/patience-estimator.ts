// Client patience, learned from traffic: how long clients wait before they disconnect. The queue
// deadline is kept well below the impatient tail of it, so that a queued request is either served
// while its client still waits or refused early enough to be retried, never served to nobody.
import { quantile } from './recorder.ts';

/** Before any client has given up, nothing says they are impatient. */
const DEFAULT_DEADLINE_MS = 1_000;
const MIN_DEADLINE_MS = 50;
const WINDOW = 256;
/** The impatient tail: the 10th percentile of observed waits before a disconnect. */
const TAIL_QUANTILE = 0.1;
/** Half of it leaves room for the service time after the wait. */
const DEADLINE_SHARE = 0.5;

export class PatienceEstimator {
  readonly #ages: number[] = [];
  #next = 0;
  #cachedDeadlineMs = DEFAULT_DEADLINE_MS;
  #isStale = false;

  /** A client disconnected this long after its request arrived. */
  observe(ageMs: number): void {
    if (this.#ages.length < WINDOW) this.#ages.push(ageMs);
    else this.#ages[this.#next] = ageMs;
    this.#next = (this.#next + 1) % WINDOW;
    this.#isStale = true;
  }

  queueDeadlineMs(): number {
    if (this.#isStale) {
      this.#cachedDeadlineMs = Math.max(MIN_DEADLINE_MS, DEADLINE_SHARE * quantile(this.#ages, TAIL_QUANTILE));
      this.#isStale = false;
    }
    return this.#cachedDeadlineMs;
  }
}
