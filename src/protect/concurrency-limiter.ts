// Adaptive concurrency limit per backend (AIMD on latency, after Netflix concurrency-limits and
// Envoy's adaptive concurrency filter). Answers are taken in rounds of about one limit's worth (a
// round trip). The fastest answer of a round is compared with the backend's no-load latency: above
// `tolerance` x it, every request of the round waited in the backend's queue, so the limit shrinks
// (see the gradient below); otherwise it grows by one. An overload status (503/504, timeout, refused)
// shrinks it at once, at most once per round trip.
//
// Why the fastest of a round: queueing delays every request, cheap or expensive, so the minimum
// rises with it; a mix of cheap and expensive endpoints does not move the minimum, so one slow
// report endpoint is never mistaken for an overload. The no-load latency is the fastest answer
// among attempts that started under light load (at most a quarter of the limit, or two, in
// flight), and it is needed from MIN_BASELINE_SAMPLES such answers before latency may shrink
// anything; a backend that never gets that many (always moderately busy) uses the fastest of all
// its answers instead, an upper bound. A minimum never rises, so an overload cannot raise its own
// baseline. A slow round cuts the limit by the gradient tolerance x no-load / fastest (Netflix's
// Gradient limiter), at most to a quarter, and is acted on after MIN_ROUND_SAMPLES answers: with
// n in flight on c workers every answer waits about n / c service times, so one cut lands near
// tolerance x c, from any starting limit.
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
/** ...or at most this many: two at once do not queue on any real server. */
const LIGHT_LOAD_MIN = 2;
/** Light-load answers needed before latency can signal overload. */
const MIN_BASELINE_SAMPLES = 20;
/** An answer teaches the no-load latency only when the proxy's lag was below this share of it. */
const MAX_BASELINE_LAG_SHARE = 0.1;
/** An answer seen with a lag above this share of the no-load latency is skipped: it measures the proxy. */
const MAX_LAG_SHARE_OF_BASELINE = 0.25;
/**
 * Queueing below this says nothing: a 1 ms backend seen through a busy proxy answers in 3 ms now
 * and then, and a gradient cut on that jitter pinned its limit to the minimum (the
 * fastest_response_time e2e test on a loaded machine sent most requests to the 40 ms backend).
 */
const MIN_QUEUEING_MS = 5;
/** The most a slow round cuts the limit by (to a quarter): ten answers that all waited are a strong signal, but not a final one. */
const MAX_CUT = 0.25;
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
  // the fastest light-load answer, and the fastest answer of all (an upper bound of the no-load
  // latency: a queued answer is never faster than an unqueued one)
  let lightMinMs = Number.POSITIVE_INFINITY;
  let lightSamples = 0;
  let anyMinMs = Number.POSITIVE_INFINITY;
  let anySamples = 0;
  /** The no-load latency as best known (light-load answers first); Infinity before any. */
  let baselineMs = Number.POSITIVE_INFINITY;
  /** Whether baselineMs rests on enough answers for latency to shrink the limit. */
  let isBaselineSure = false;
  let roundMinMs = Number.POSITIVE_INFINITY;
  let roundSamples = 0;
  let roundMaxLoad = 0;
  let lastDecreaseAt = Number.NEGATIVE_INFINITY;

  const isSlow = (latencyMs: number): boolean => isBaselineSure && latencyMs > options.tolerance * baselineMs && latencyMs - baselineMs > MIN_QUEUEING_MS;
  /**
   * The no-load latency: the fastest light-load answer once there are enough of them; before, the
   * fastest answer of all once there are enough of those. A backend that is always moderately busy
   * (38 in flight on 64 workers: a quarter of the limit never reached) gives few light-load answers,
   * and without the fallback its limit grew without bound through an overload.
   */
  const learnBaseline = (latencyMs: number, isLight: boolean): void => {
    anySamples++;
    anyMinMs = Math.max(0.05, Math.min(anyMinMs, latencyMs));
    if (isLight) {
      lightSamples++;
      lightMinMs = Math.max(0.05, Math.min(lightMinMs, latencyMs));
    }
    const isAnyOnly = lightSamples < MIN_BASELINE_SAMPLES && anySamples >= MIN_BASELINE_SAMPLES;
    baselineMs = isAnyOnly ? anyMinMs : lightMinMs;
    isBaselineSure = lightSamples >= MIN_BASELINE_SAMPLES || isAnyOnly;
  };

  /**
   * ratio: how far to go, at most backoffRatio and at least MAX_CUT. holdMs: no further cut for
   * this long, the time the answers already in flight (sent under the old limit) take to come back:
   * they are slow whatever the new limit is, and one overload is one signal, not many.
   */
  let holdMs = 0;
  const decrease = (now: number, ratio = options.backoffRatio, roundTripMs = baselineMs): void => {
    if (now - lastDecreaseAt < holdMs) return;
    limit = Math.max(options.minLimit, limit * Math.max(MAX_CUT, Math.min(options.backoffRatio, ratio)));
    lastDecreaseAt = now;
    holdMs = Math.max(roundTripMs, 1);
  };

  const endRound = (now: number): void => {
    const isUsed = roundMaxLoad >= Math.floor(limit) * 0.5;
    // the gradient (Netflix's Gradient limiter): with n in flight on c slots every answer waits
    // about n / c service times, so tolerance x no-load / fastest is about tolerance x c / n, and
    // the limit goes most of the way to tolerance x c in one step instead of 5 % per round trip
    if (isSlow(roundMinMs)) decrease(now, (options.tolerance * baselineMs) / roundMinMs, roundMinMs);
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
      if (loopLagMs <= MAX_BASELINE_LAG_SHARE * latencyMs) learnBaseline(latencyMs, loadAtStart <= Math.max(LIGHT_LOAD_MIN, LIGHT_LOAD_SHARE * limit));
      if (loopLagMs > MAX_LAG_SHARE_OF_BASELINE * baselineMs) return;
      roundMinMs = Math.min(roundMinMs, Math.max(0, latencyMs - loopLagMs));
      roundMaxLoad = Math.max(roundMaxLoad, loadAtStart);
      // a round grows the limit after one limit's worth of answers (a round trip), but an
      // overload is acted on as soon as MIN_ROUND_SAMPLES answers all say so: at a limit of 64 on a
      // backend of 2 slots a round trip is 2 s, too long to wait
      ++roundSamples;
      if (roundSamples >= Math.max(MIN_ROUND_SAMPLES, Math.floor(limit)) || (roundSamples >= MIN_ROUND_SAMPLES && isSlow(roundMinMs))) endRound(now);
    },
    reconfigure(next) {
      options = next;
      limit = Math.min(next.maxLimit, Math.max(next.minLimit, limit));
    },
  };
}
