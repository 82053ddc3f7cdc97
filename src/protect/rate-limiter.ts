// One rate limit: a token bucket per key, keys held in a bounded LRU + TTL map. Pure: the caller
// passes the time. A shared limit uses the same buckets as a local estimate of the global bucket;
// takePending() and correct() are how the shared-state sync reconciles them.
import { LruTtlMap } from './lru-ttl-map.ts';
import { createTokenBucket, fullAfterMs, take, type BucketShape, type TakeResult, type TokenBucket } from './token-bucket.ts';

export interface RateLimiterOptions {
  readonly ratePerSecond: number;
  readonly burst: number;
  readonly maxKeys: number;
  /** An idle key is forgotten after this; never below the time its bucket needs to refill. */
  readonly keyTtlMs: number;
}

export interface PendingTake {
  readonly key: string;
  readonly count: number;
}

export class RateLimiter {
  readonly shape: BucketShape;
  readonly #buckets: LruTtlMap<TokenBucket>;
  readonly #maxKeys: number;
  /**
   * Keys whose bucket has takes not yet reported, so that a sync costs what it reports rather than
   * a walk over every key (100,000 keys walked every sync interval stalled the event loop). Bounded:
   * past maxKeys (a limiter nobody syncs, or a flood between two syncs) it gives up and the next
   * takePending() walks every bucket once.
   */
  readonly #pendingKeys = new Set<string>();
  #isPendingOverflow = false;

  constructor(options: RateLimiterOptions, onEvict: (reason: 'size' | 'ttl') => void = () => undefined) {
    this.shape = Object.freeze({ ratePerMs: options.ratePerSecond / 1000, burst: options.burst });
    // a bucket idle for fullAfterMs is full: forgetting it then is exact, so the TTL never goes below
    const ttlMs = Math.max(options.keyTtlMs, fullAfterMs(this.shape));
    this.#buckets = new LruTtlMap({ maxEntries: options.maxKeys, ttlMs, onEvict });
    this.#maxKeys = options.maxKeys;
  }

  get keyCount(): number {
    return this.#buckets.size;
  }

  take(key: string, nowMs: number, cost = 1): TakeResult {
    const bucket = this.#bucket(key, nowMs);
    const wasPending = bucket.pending > 0;
    const result = take(bucket, this.shape, nowMs, cost);
    if (!wasPending && bucket.pending > 0 && !this.#isPendingOverflow) {
      if (this.#pendingKeys.size < this.#maxKeys) this.#pendingKeys.add(key);
      else {
        this.#isPendingOverflow = true;
        this.#pendingKeys.clear();
      }
    }
    return result;
  }

  /** The takes not yet reported to the shared store, per key; their counters restart at 0. */
  takePending(nowMs: number): PendingTake[] {
    this.#buckets.evictExpired(nowMs);
    const out: PendingTake[] = [];
    const report = (key: string, bucket: TokenBucket | undefined): void => {
      if (bucket === undefined || bucket.pending === 0) return;
      out.push({ key, count: bucket.pending });
      bucket.pending = 0;
    };
    if (this.#isPendingOverflow) {
      for (const [key, bucket] of this.#buckets.entries()) report(key, bucket);
      this.#isPendingOverflow = false;
    } else for (const key of this.#pendingKeys) report(key, this.#buckets.peek(key));
    this.#pendingKeys.clear();
    return out;
  }

  /** Forgets the keys idle longer than the TTL (oldest first: the cost is the number forgotten). */
  sweep(nowMs: number): void {
    this.#buckets.evictExpired(nowMs);
  }

  /**
   * The shared store answered: `remaining` tokens are left globally after our report. What was
   * taken here since the report (the new `pending`) comes off it; the global rate refills it until
   * the next answer.
   */
  correct(key: string, remaining: number, nowMs: number): void {
    const bucket = this.#bucket(key, nowMs);
    bucket.tokens = Math.min(this.shape.burst, remaining) - bucket.pending;
    bucket.atMs = nowMs;
  }

  #bucket(key: string, nowMs: number): TokenBucket {
    let bucket = this.#buckets.get(key, nowMs);
    if (bucket === undefined) {
      bucket = createTokenBucket(this.shape, nowMs);
      this.#buckets.set(key, bucket, nowMs);
    }
    return bucket;
  }
}
