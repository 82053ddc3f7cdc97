// Adaptive concurrency limit per backend (AIMD on latency, after Netflix concurrency-limits and
// Envoy's adaptive concurrency filter): the limit grows by about one per round trip while latency
// stays within `tolerance` x the backend's no-load latency, and shrinks by `backoffRatio` (at most
// once per round trip) beyond it or when the backend signals overload. The no-load latency is
// measured, as Envoy does, by pinning the limit to `minLimit` for a few samples at start and then
// every `probeIntervalMs`: a backend that is always busy never shows it otherwise. So the
// concurrency each backend sustains is learned from its latency; nobody configures it.
// Pure: time is passed in.
export interface ConcurrencyLimiterOptions {
  readonly initialLimit: number;
  readonly minLimit: number;
  readonly maxLimit: number;
  /** Latency above tolerance x baseline counts as overload. */
  readonly tolerance: number;
  readonly backoffRatio: number;
  readonly probeIntervalMs: number;
  /** Samples taken at minLimit to measure the no-load latency. */
  readonly probeSamples: number;
}

export const DEFAULT_LIMITER_OPTIONS: ConcurrencyLimiterOptions = Object.freeze({
  initialLimit: 16,
  minLimit: 2,
  maxLimit: 1000,
  tolerance: 3,
  backoffRatio: 0.9,
  probeIntervalMs: 30_000,
  probeSamples: 8,
});

export interface ConcurrencyLimiter {
  readonly limit: number;
  readonly inFlight: number;
  readonly baselineMs: number;
  readonly isProbing: boolean;
  tryAcquire(): boolean;
  /** One acquired attempt ended; isOverload: a 503/504, a timeout or a refused connection. */
  release(latencyMs: number, isOverload: boolean, now: number): void;
  /** Gives a slot back without a sample (the attempt never ran, or the client left first). */
  cancel(): void;
}

export function createConcurrencyLimiter(options: ConcurrencyLimiterOptions = DEFAULT_LIMITER_OPTIONS): ConcurrencyLimiter {
  let limit = options.initialLimit;
  let inFlight = 0;
  let baselineMs = Number.POSITIVE_INFINITY;
  let lastDecreaseAt = Number.NEGATIVE_INFINITY;
  // start by probing: the first samples, at minimum concurrency, give the no-load latency
  let isProbing = true;
  let probeMin = Number.POSITIVE_INFINITY;
  let probeCount = 0;
  // a probe counts only attempts started at minimum concurrency, after the busy ones have drained
  let isProbeDrained = true;
  let nextProbeAt = Number.NaN;

  const effectiveLimit = (): number => (isProbing ? options.minLimit : Math.floor(limit));

  const onProbeSample = (latencyMs: number, isOverload: boolean, now: number): void => {
    if (!isOverload) probeMin = Math.min(probeMin, latencyMs);
    if (++probeCount < options.probeSamples) return;
    if (probeMin !== Number.POSITIVE_INFINITY) baselineMs = Math.max(probeMin, 0.05);
    isProbing = false;
    probeCount = 0;
    probeMin = Number.POSITIVE_INFINITY;
    nextProbeAt = now + options.probeIntervalMs;
  };

  return {
    get limit() {
      return effectiveLimit();
    },
    get inFlight() {
      return inFlight;
    },
    get baselineMs() {
      return baselineMs;
    },
    get isProbing() {
      return isProbing;
    },
    tryAcquire() {
      if (inFlight >= effectiveLimit()) return false;
      inFlight++;
      return true;
    },
    cancel() {
      if (inFlight > 0) inFlight--;
    },
    release(latencyMs, isOverload, now) {
      if (inFlight > 0) inFlight--;
      if (isProbing) {
        if (!isProbeDrained) {
          isProbeDrained = inFlight < options.minLimit;
          return;
        }
        return onProbeSample(latencyMs, isOverload, now);
      }
      if (now >= nextProbeAt) {
        isProbing = true;
        isProbeDrained = inFlight < options.minLimit;
        return;
      }
      if (isOverload || latencyMs > options.tolerance * baselineMs) {
        // once per round trip: a burst of slow answers from one overload is one signal, not many
        if (now - lastDecreaseAt >= Math.max(baselineMs, 1)) {
          limit = Math.max(options.minLimit, limit * options.backoffRatio);
          lastDecreaseAt = now;
        }
        return;
      }
      // additive increase, only while the limit is actually used (no growth on idle capacity)
      if (inFlight + 1 >= Math.floor(limit) * 0.5) limit = Math.min(options.maxLimit, limit + 1 / limit);
    },
  };
}
