// State shared across instances (DESIGN.md: rate limits now; the model and rollout decisions use
// the same seam). Two implementations: in memory (one process; tests) and Redis (a fleet).

/** What one instance let through for one key since its last report, and the bucket's shape. */
export interface BucketReport {
  /** The full store key (prefix included). */
  readonly key: string;
  readonly consumed: number;
  readonly ratePerSecond: number;
  readonly burst: number;
  /**
   * How deep the global bucket may go into debt (a negative number). Instances that together
   * overspent between two syncs repay it before they may spend again; the caller sizes it so that
   * the steady-state debt of any number of instances fits (see rate-limit-sync.ts).
   */
  readonly minTokens: number;
  /** The store forgets a bucket untouched for this long. */
  readonly ttlMs: number;
}

/** Sparse model coordinates: index, z, n (absolute values or changes; see model/model-merge.ts). */
export interface SparseCoordinates {
  readonly indices: number[];
  readonly z: number[];
  readonly n: number[];
}

export interface ModelPush {
  /** The store key of the global model (it names the feature spec and FTRL parameters). */
  readonly key: string;
  /** `changes` are added to the global state; `init` sets an empty store's global state. */
  readonly mode: 'changes' | 'init';
  readonly coordinates: SparseCoordinates;
}

export interface SharedState {
  /**
   * Adds one instance's model changes to the global model and answers the global model, in one
   * atomic round trip. Undefined when the store holds no global model yet (first start, or Redis
   * lost its data): the caller then pushes its whole model with mode `init`. An `init` that
   * finds a global model already there only answers it.
   */
  pushModel(push: ModelPush): Promise<SparseCoordinates | undefined>;
  /**
   * Applies every report to its global token bucket atomically and answers, in order, the tokens
   * left after it (below 0 when the instances together overspent: a debt, down to minTokens). One
   * round trip for the whole batch. Rejects when the store is unreachable or slower than its timeout.
   */
  takeTokens(reports: readonly BucketReport[]): Promise<number[]>;
  close(): Promise<void>;
}

/** The global bucket's maths; the Redis Lua script (redis-shared-state.ts) does the same. */
export function applyReport(stored: { tokens: number; atMs: number } | undefined, report: BucketReport, nowMs: number): { tokens: number; atMs: number } {
  let tokens = stored?.tokens ?? report.burst;
  const atMs = stored?.atMs ?? nowMs;
  if (nowMs > atMs) tokens = Math.min(report.burst, tokens + ((nowMs - atMs) * report.ratePerSecond) / 1000);
  tokens = Math.max(report.minTokens, tokens - report.consumed);
  return { tokens, atMs: Math.max(atMs, nowMs) };
}
