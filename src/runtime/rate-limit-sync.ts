// Shared rate limits: every sync interval, each instance reports to the shared store what its
// shared limits let through per key since the last report, and learns the global remainder, in one
// batched round trip. Between syncs the data path decides on its local estimate and never waits
// for Redis. While the store is unreachable, the limits follow [shared] fail_mode (RateLimits).
import { SerialTimer } from './serial-timer.ts';
import type { SharedState, BucketReport } from '../shared/shared-state.ts';
import { hash64Hex } from '../telemetry/key-hash.ts';
import type { RuntimeDeps } from './deps.ts';
import type { ActiveRateLimit, RateLimits } from './rate-limits.ts';

/** Even with nothing to report, the store is asked this often, so that an outage shows up. */
const HEARTBEAT_MS = 1000;
const MAX_RAW_KEY_CHARS = 128;

export interface RateLimitSyncOptions {
  readonly intervalMs: number;
  readonly keyPrefix: string;
  /**
   * `redis`: the limits with `shared = true`, across instances; its outages follow [shared]
   * fail_mode. `workers`: the other limits, across the workers of one `serve --workers N`
   * (the primary's store cannot be unreachable while the worker lives).
   */
  readonly store: 'redis' | 'workers';
}

export class RateLimitSync {
  readonly #limits: RateLimits;
  readonly #store: SharedState;
  readonly #options: RateLimitSyncOptions;
  readonly #deps: RuntimeDeps;
  #lastCallMs = Number.NEGATIVE_INFINITY;
  readonly #timer: SerialTimer;

  constructor(limits: RateLimits, store: SharedState, options: RateLimitSyncOptions, deps: RuntimeDeps) {
    this.#limits = limits;
    this.#store = store;
    this.#options = options;
    this.#deps = deps;
    this.#timer = new SerialTimer(deps.clock, options.intervalMs, () => this.syncOnce());
    if (options.store === 'redis') deps.metrics.sharedRedisUp.set(1);
  }

  start(): void {
    this.#timer.start();
  }

  stop(): Promise<void> {
    return this.#timer.stop();
  }

  /** One report-and-correct round trip (exported for tests). Never throws. */
  async syncOnce(): Promise<void> {
    const { clock, metrics } = this.#deps;
    const now = clock.now();
    const reports: BucketReport[] = [];
    const targets: { limit: ActiveRateLimit; key: string }[] = [];
    const isRedis = this.#options.store === 'redis';
    for (const limit of this.#limits.limits) {
      if (limit.isShared !== isRedis) continue;
      for (const p of limit.limiter.takePending(now)) {
        reports.push({ key: this.#storeKey(limit, p.key), consumed: p.count, ratePerSecond: limit.ratePerSecond, burst: limit.burst, minTokens: this.#minTokens(limit), ttlMs: limit.storeTtlMs });
        targets.push({ limit, key: p.key });
      }
    }
    if (reports.length === 0 && (!isRedis || (this.#limits.isSharedAvailable && now - this.#lastCallMs < HEARTBEAT_MS))) return;
    this.#lastCallMs = now;
    const started = performance.now();
    try {
      const remaining = await this.#store.takeTokens(reports);
      if (isRedis) metrics.sharedSyncDuration.observe((performance.now() - started) / 1000);
      metrics.sharedSyncs.inc({ kind: 'rate_limits', store: this.#options.store, result: 'ok' });
      const at = clock.now();
      targets.forEach((t, i) => t.limit.limiter.correct(t.key, remaining[i] ?? 0, at));
      if (isRedis) this.#setAvailable(true, undefined);
    } catch (err) {
      // what was reported is lost: better than replaying a whole outage's traffic at recovery
      metrics.sharedSyncs.inc({ kind: 'rate_limits', store: this.#options.store, result: 'error' });
      if (isRedis) this.#setAvailable(false, err);
      else this.#deps.logger.warn({ err: (err as Error).message }, 'rate limit sync with the other workers failed');
    }
  }

  /**
   * Between two syncs each of N instances refills its estimate at the full rate, so they overspend
   * and the global bucket settles at a debt of (N - 1) / N x rate x interval, below one interval's
   * refill whatever N. The floor leaves room for that (twice, for syncs delayed by a busy event
   * loop) plus a burst: a floor above it would forgive the overspending and let N x rate through.
   */
  #minTokens(limit: ActiveRateLimit): number {
    return -(limit.burst + (2 * limit.ratePerSecond * this.#options.intervalMs) / 1000);
  }

  #storeKey(limit: ActiveRateLimit, key: string): string {
    // long header values would make long Redis keys: hashed (collisions negligible, see key-hash.ts)
    const part = key.length <= MAX_RAW_KEY_CHARS ? key : hash64Hex(key);
    return `${this.#options.keyPrefix}rl:${limit.name}:${hash64Hex(limit.signature)}:${part}`;
  }

  #setAvailable(isAvailable: boolean, err: unknown): void {
    if (this.#limits.isSharedAvailable === isAvailable) return;
    this.#limits.isSharedAvailable = isAvailable;
    this.#deps.metrics.sharedRedisUp.set(isAvailable ? 1 : 0);
    if (isAvailable) this.#deps.logger.info('shared state reachable again: shared rate limits are global again');
    else this.#deps.logger.warn({ err: (err as Error | undefined)?.message }, 'shared state unreachable: shared rate limits follow [shared] fail_mode until it returns');
  }
}
