// Which backends a strategy may pick from. Kept outside the strategies (Envoy) so every
// strategy gets the same health, ejection, draining and panic semantics.

export interface EligibilityInput {
  readonly isHealthy: boolean;
  readonly isEjected: boolean;
  readonly isDraining: boolean;
  readonly effectiveWeight: number;
}

export interface Eligibility<T> {
  readonly eligible: T[];
  /** True when too few backends are available and health was ignored (Envoy's panic mode). */
  readonly isPanic: boolean;
}

/**
 * Eligible backends: healthy, not ejected, not draining, weight > 0.
 * Panic mode: when the available share of the non-draining, weighted backends falls below
 * panicThresholdPercent, piling all traffic onto the few survivors would take them down too,
 * so health and ejection are ignored. 0 disables panic mode.
 */
export function selectEligible<T extends EligibilityInput>(
  backends: readonly T[],
  panicThresholdPercent: number,
): Eligibility<T> {
  const candidates: T[] = [];
  const available: T[] = [];
  for (const backend of backends) {
    // Draining and zero-weight backends were taken out on purpose: panic must not bring them back.
    if (backend.isDraining || !(backend.effectiveWeight > 0)) continue;
    candidates.push(backend);
    if (backend.isHealthy && !backend.isEjected) available.push(backend);
  }
  // No candidates at all is an empty pool, not a panic: panic would not add anything to pick.
  if (panicThresholdPercent > 0 && candidates.length > 0) {
    const availablePercent = (100 * available.length) / candidates.length;
    if (availablePercent < panicThresholdPercent) return { eligible: candidates, isPanic: true };
  }
  return { eligible: available, isPanic: false };
}
