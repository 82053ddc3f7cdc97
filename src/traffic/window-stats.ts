// Per-pool statistics of one analysis interval: requests, failures and a latency histogram with
// ~5 % wide log buckets, so p99 costs O(buckets) and memory is fixed whatever the traffic.

const GROWTH = 1.05;
const LOG_GROWTH = Math.log(GROWTH);
/** Bucket i holds latencies in [GROWTH^(i-1), GROWTH^i) ms; 400 buckets reach ~5 hours. */
const BUCKETS = 400;

export interface WindowSummary {
  readonly requests: number;
  readonly failures: number;
  /** Upper bound of the bucket holding the 99th percentile, ms (0 without requests). */
  readonly p99Ms: number;
}

export class WindowStats {
  requests = 0;
  failures = 0;
  readonly #histogram = new Uint32Array(BUCKETS);

  record(latencyMs: number, isFailure: boolean): void {
    this.requests++;
    if (isFailure) this.failures++;
    const i = latencyMs <= 1 ? 0 : Math.min(BUCKETS - 1, Math.ceil(Math.log(latencyMs) / LOG_GROWTH));
    this.#histogram[i] = (this.#histogram[i] ?? 0) + 1;
  }

  /** The latency under which `q` (0..1) of the requests fall, rounded up to its bucket's bound. */
  quantileMs(q: number): number {
    if (this.requests === 0) return 0;
    const rank = Math.ceil(q * this.requests);
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.#histogram[i] ?? 0;
      if (seen >= rank) return GROWTH ** i;
    }
    return GROWTH ** (BUCKETS - 1);
  }

  summary(): WindowSummary {
    return { requests: this.requests, failures: this.failures, p99Ms: this.quantileMs(0.99) };
  }

  reset(): void {
    this.requests = 0;
    this.failures = 0;
    this.#histogram.fill(0);
  }
}
