// Exponentially weighted moving averages with a half-life in time, not in samples,
// so that a quiet backend's estimate decays at the same pace as a busy one's.
export function decayFactor(elapsedMs: number, halfLifeMs: number): number {
  if (elapsedMs <= 0) return 1;
  return Math.pow(0.5, elapsedMs / halfLifeMs);
}

/** New EWMA value after observing x at elapsedMs since the last update. */
export function ewmaUpdate(previous: number, x: number, elapsedMs: number, halfLifeMs: number): number {
  const keep = decayFactor(elapsedMs, halfLifeMs);
  return previous * keep + x * (1 - keep);
}

/**
 * Peak EWMA (Finagle/Linkerd): a sample above the estimate replaces it at once,
 * a sample below decays into it. Reacts to a slowdown immediately, forgets it slowly.
 */
export function peakEwmaUpdate(previous: number, x: number, elapsedMs: number, halfLifeMs: number): number {
  return x > previous ? x : ewmaUpdate(previous, x, elapsedMs, halfLifeMs);
}
