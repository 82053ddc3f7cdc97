// The strategy seam: a strategy only answers "which of these eligible candidates gets this request".
// Eligibility (health, ejection, drain, panic mode) and re-picking live outside (runtime/).

/** What a strategy may read about a backend. Runtime backend state objects satisfy it structurally. */
export interface Candidate {
  /** Stable identity within a pool (the backend's name). */
  readonly id: string;
  /** Effective weight (configured weight x slow-start ramp), > 0 for eligible candidates. */
  readonly effectiveWeight: number;
  /** Requests currently in flight to this backend through this process. */
  readonly inFlight: number;
  /** Peak-EWMA of response latency in ms (0 until the first sample). */
  readonly latencyEwmaMs: number;
  /** EWMA of the failure indicator (1 = 5xx or transport error), in [0, 1]. */
  readonly errorEwma: number;
  /** EWMA of the retry model's predicted probability that a client retries this backend's answers, in [0, 1]; absent or 0 without a model. */
  readonly predictedRetryEwma?: number;
}

/** What a strategy may read about the request. */
export interface PickRequest {
  /** Key for hash-based strategies (client IP or a configured header); empty when absent. */
  readonly hashKey: string;
}

export interface Balancer {
  /** candidates is non-empty, eligible, and its array identity changes only when the set changes. */
  pick(request: PickRequest, candidates: readonly Candidate[]): Candidate | undefined;
}

export const Algorithms = [
  'round_robin',
  'weighted_round_robin',
  'least_connections',
  'ip_hash',
  'fastest_response_time',
  'power_of_two',
  'random',
  'adaptive',
] as const;
export type Algorithm = (typeof Algorithms)[number];
