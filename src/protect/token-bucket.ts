// A token bucket (rate tokens per second, at most burst), as plain state and pure functions: the
// caller passes the time in. The same state serves a local limit and a shared one: `pending`
// counts what was taken here and not yet reported to the shared store.

export interface TokenBucket {
  /** Tokens available at `atMs`; below 0 when a shared store reported a debt. */
  tokens: number;
  atMs: number;
  /** Tokens taken since the last report to a shared store (0 for local limits). */
  pending: number;
}

export interface BucketShape {
  /** Tokens added per millisecond. */
  readonly ratePerMs: number;
  readonly burst: number;
}

export interface TakeResult {
  readonly isAllowed: boolean;
  /** Whole tokens left after this take. */
  readonly remaining: number;
  /** Until `cost` tokens are available again (0 when allowed). */
  readonly retryAfterMs: number;
}

export function createTokenBucket(shape: BucketShape, nowMs: number): TokenBucket {
  return { tokens: shape.burst, atMs: nowMs, pending: 0 };
}

/** Adds the tokens earned since the bucket was last seen, capped at burst. */
export function refill(bucket: TokenBucket, shape: BucketShape, nowMs: number): void {
  const elapsed = nowMs - bucket.atMs;
  if (elapsed > 0) bucket.tokens = Math.min(shape.burst, bucket.tokens + elapsed * shape.ratePerMs);
  bucket.atMs = Math.max(bucket.atMs, nowMs);
}

export function take(bucket: TokenBucket, shape: BucketShape, nowMs: number, cost: number): TakeResult {
  refill(bucket, shape, nowMs);
  if (bucket.tokens >= cost) {
    bucket.tokens -= cost;
    bucket.pending += cost;
    return { isAllowed: true, remaining: Math.floor(bucket.tokens), retryAfterMs: 0 };
  }
  return { isAllowed: false, remaining: 0, retryAfterMs: (cost - bucket.tokens) / shape.ratePerMs };
}

/** Time after which an untouched bucket is full again, so forgetting it changes nothing. */
export function fullAfterMs(shape: BucketShape): number {
  return shape.burst / shape.ratePerMs;
}
