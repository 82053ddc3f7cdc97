// Slow start (Envoy slow_start_config, NGINX slow_start): a backend that just came back gets
// a share of traffic that grows linearly, so a cold cache or JIT is not hit with full load at once.

/**
 * Weight multiplier in [minFactor, 1] for a backend healthy again since `sinceMs` ms.
 * A window of 0 disables slow start.
 */
export function slowStartFactor(sinceMs: number, windowMs: number, minFactor = 0.1): number {
  if (!(minFactor > 0 && minFactor <= 1)) {
    throw new RangeError(`minFactor must be in (0, 1], got ${minFactor}`);
  }
  // Written as a negated comparison so NaN inputs fall through to the neutral factor.
  if (!(windowMs > 0) || !(sinceMs < windowMs)) return 1;
  if (sinceMs <= 0) return minFactor;
  return minFactor + (1 - minFactor) * (sinceMs / windowMs);
}
