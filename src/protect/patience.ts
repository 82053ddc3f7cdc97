// The clients' patience, learned rather than configured: how long a client waits before it gives
// up on an attempt, observed from client disconnects and from retries that arrive while the
// previous attempt is still in flight. A queue deadline below it keeps Sibyl from serving
// requests nobody waits for any more (HAProxy's tuning rule, learned).
import { ewmaUpdate } from '../core/ewma.ts';

export class PatienceEstimator {
  readonly #defaultMs: number;
  #estimateMs = Number.NaN;
  #samples = 0;

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
    // weighted by sample count, not time: patience is a property of the clients, not of the clock
    this.#estimateMs = Number.isNaN(this.#estimateMs) ? waitedMs : ewmaUpdate(this.#estimateMs, waitedMs, 1, 20);
  }

  /** The queue deadline: half the observed patience, within [minMs, maxMs]; maxMs before any sample. */
  deadlineMs(minMs: number, maxMs: number): number {
    if (Number.isNaN(this.#estimateMs)) return Math.min(maxMs, this.#defaultMs);
    return Math.max(minMs, Math.min(maxMs, this.#estimateMs / 2));
  }
}
