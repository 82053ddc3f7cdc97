// Weighted random: each candidate with probability effectiveWeight / total.
import type { Balancer, Candidate, PickRequest } from './balancer.ts';
import type { Rng } from '../core/rng.ts';

export function createRandom(deps: { readonly rng: Rng }): Balancer {
  const { rng } = deps;
  return {
    pick(_request: PickRequest, candidates: readonly Candidate[]): Candidate | undefined {
      const n = candidates.length;
      if (n === 0) return undefined;
      if (n === 1) return candidates[0];
      // Weights are summed per pick rather than cached per set: a slow-start ramp changes them in place.
      let total = 0;
      for (let i = 0; i < n; i++) total += candidates[i]!.effectiveWeight;
      let target = rng.next() * total;
      for (let i = 0; i < n; i++) {
        target -= candidates[i]!.effectiveWeight;
        if (target < 0) return candidates[i];
      }
      // Only reached through floating-point rounding when target lands on total.
      return candidates[n - 1];
    },
  };
}
