// Adaptive concurrency limit per backend (AIMD on latency, after Netflix concurrency-limits and
// Envoy's adaptive concurrency filter). Answers are taken in rounds of about one limit's worth (a
// round trip). The fastest answer of a round is compared with the backend's no-load latency: above
// `tolerance` x it, every request of the round waited in the backend's queue, so the limit shrinks
// by `backoffRatio`; otherwise it grows by one. An overload status (503/504, timeout, refused)
// shrinks it at once, at most once per round trip.
//
// Why the fastest of a round: queueing delays every request, cheap or expensive, so the minimum
// rises with it; a mix of cheap and expensive endpoints does not move the minimum, so one slow
// report endpoint is never mistaken for an overload. The no-load latency is the fastest answer
// among attempts that started under light load (at most a quarter of the limit in flight), and it
// is needed from MIN_BASELINE_SAMPLES such answers before latency may shrink anything. An
// overloaded backend gives no light-load answers, so an overload cannot raise its own baseline.
// Envoy instead pins the concurrency to a minimum now and then to measure it; that sheds a burst
// each time and starves slow backends (it did here, in an earlier version).
// The proxy's own event-loop lag is part of every latency it measures: a CPU-starved proxy sees
// every answer late, and must not take that for the backend's queue. A small lag is subtracted;
// an answer seen with a lag above a quarter of the no-load latency says nothing about the backend
// and is skipped, so a starved proxy neither sheds what the backends could serve nor grows its
// limit blindly (subtracting a large, noisy lag let the limit grow far past the backends' real
// concurrency in the live experiment). Only answers seen with little lag teach the no-load latency.
// Pure: time is passed in.
export interface ConcurrencyLimiterOptions {
  readonly initialLimit: number;
  readonly minLimit: number;
  readonly maxLimit: number;
  /** A round whose fastest answer is above tolerance x the no-load latency is an overload. */
  readonly tolerance: number;
  readonly backoffRatio: number;
}

export const DEFAULT_LIMITER_OPTIONS: ConcurrencyLimiterOptions = Object.freeze({
  initialLimit: 16,
  minLimit: 2,
  maxLimit: 1000,
  tolerance: 2,
  // 0.9 cut 3 % of the capacity in the simulator's load spike: the limit dipped below the
  // backends' concurrency after each decrease (sim/storm, seeds 1-3)
  backoffRatio: 0.95,
});

/** An attempt ran under light load when at most this share of the limit was in flight as it started. */
const LIGHT_LOAD_SHARE = 0.25;
/** Light-load answers needed before latency can signal overload. */
const MIN_BASELINE_SAMPLES = 20;
/** An answer teaches the no-load latency only when the proxy's lag was below this share of it. */
const MAX_BASELINE_LAG_SHARE = 0.1;
/** An answer seen with a lag above this share of the no-load latency is skipped: it measures the proxy. */
const MAX_LAG_SHARE_OF_BASELINE = 0.25;
/** A round is about one limit's worth of answers, at least this many. */
const MIN_ROUND_SAMPLES = 10;

export interface ConcurrencyLimiter {
  readonly limit: number;
  readonly inFlight: number;
  /** The learned no-load latency; Infinity until a light-load answer was seen. */
  readonly baselineMs: number;
  tryAcquire(): boolean;
  /**
   * One acquired attempt ended; isOverload: a 503/504, a timeout or a refused connection.
   * loadAtStart: the backend's attempts in flight when this one started, itself included.
   * loopLagMs: the proxy's own recent event-loop lag (part of latencyMs, not the backend's).
   */
  release(latencyMs: number, isOverload: boolean, now: number, loadAtStart: number, loopLagMs?: number): void;
  /** Gives a slot back without a sample (the attempt never ran). */
  cancel(): void;
  /**
   * The client left while the backend was still working: the slot is given back (the upstream
   * request is closed), and the wait so far is a lower bound of the latency. A wait beyond
   * tolerance x the no-load latency is an overload signal: the backend usually goes on serving
   * the abandoned request, so ignoring it would let the limit grow while the backend drowns.
   */
  abandon(elapsedMs: number, now: number, loopLagMs?: number): void;
  /**
   * New options from a reload: what was learned (no-load latency, the limit) is kept, the limit
   * brought within the new [min_limit, max_limit]; initial_limit only starts a new limiter.
   */
  reconfigure(options: ConcurrencyLimiterOptions): void;
}

export function createConcurrencyLimiter(initialOptions: ConcurrencyLimiterOptions = DEFAULT_LIMITER_OPTIONS): ConcurrencyLimiter {
  let options = initialOptions;
  let limit = options.initialLimit;
  let inFlight = 0;
  let baselineMs = Number.POSITIVE_INFINITY;
  let baselineSamples = 0;
  let roundMinMs = Number.POSITIVE_INFINITY;
  let roundSamples = 0;
  let roundMaxLoad = 0;
  let lastDecreaseAt = Number.NEGATIVE_INFINITY;

  const isSlow = (latencyMs: number): boolean => baselineSamples >= MIN_BASELINE_SAMPLES && latencyMs > options.tolerance * baselineMs;

  const decrease = (now: number): void => {
    // once per round trip: a burst of slow answers from one overload is one signal, not many
    if (now - lastDecreaseAt < Math.max(baselineMs, 1)) return;
    limit = Math.max(options.minLimit, limit * options.backoffRatio);
    lastDecreaseAt = now;
  };

  const endRound = (now: number): void => {
    const isUsed = roundMaxLoad >= Math.floor(limit) * 0.5;
    if (isSlow(roundMinMs)) decrease(now);
    // additive increase, only while the limit is actually used (no growth on idle capacity)
    else if (isUsed) limit = Math.min(options.maxLimit, limit + 1);
    roundMinMs = Number.POSITIVE_INFINITY;
    roundSamples = 0;
    roundMaxLoad = 0;
  };

  return {
    get limit() {
      return Math.floor(limit);
    },
    get inFlight() {
      return inFlight;
    },
    get baselineMs() {
      return baselineMs;
    },
    tryAcquire() {
      if (inFlight >= Math.floor(limit)) return false;
      inFlight++;
      return true;
    },
    cancel() {
      if (inFlight > 0) inFlight--;
    },
    abandon(elapsedMs, now, loopLagMs = 0) {
      if (inFlight > 0) inFlight--;
      if (isSlow(elapsedMs - loopLagMs)) decrease(now);
    },
    release(latencyMs, isOverload, now, loadAtStart, loopLagMs = 0) {
      if (inFlight > 0) inFlight--;
      if (isOverload) return decrease(now);
      if (loadAtStart <= Math.max(1, LIGHT_LOAD_SHARE * limit) && loopLagMs <= MAX_BASELINE_LAG_SHARE * latencyMs) {
        baselineSamples++;
        baselineMs = Math.max(0.05, Math.min(baselineMs, latencyMs));
      }
      if (loopLagMs > MAX_LAG_SHARE_OF_BASELINE * baselineMs) return;
      roundMinMs = Math.min(roundMinMs, Math.max(0, latencyMs - loopLagMs));
      roundMaxLoad = Math.max(roundMaxLoad, loadAtStart);
      if (++roundSamples >= Math.max(MIN_ROUND_SAMPLES, Math.floor(limit))) endRound(now);
    },
    reconfigure(next) {
      options = next;
      limit = Math.min(next.maxLimit, Math.max(next.minLimit, limit));
    },
  };
}
