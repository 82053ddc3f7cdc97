// Power of two choices over peak-EWMA latency x in-flight (Finagle's and Linkerd's default balancer).
import type { Balancer, Candidate, PickRequest } from './balancer.ts';
import type { Rng } from '../core/rng.ts';
import { pickBetterOfTwo } from './pick-better-of-two.ts';

/**
 * Latency assumed for a backend without a sample yet. Small on purpose: an unmeasured backend
 * looks cheap, so it gets probed and earns a real estimate instead of being starved.
 */
export const DEFAULT_LATENCY_MS = 1;

/**
 * Expected wait: latency x (requests ahead of this one + this one), per unit of weight.
 * Multiplying by in-flight lets the cost react between latency samples, which arrive only at the end of requests.
 */
export function peakEwmaCost(candidate: Candidate): number {
  const latencyMs = candidate.latencyEwmaMs > 0 ? candidate.latencyEwmaMs : DEFAULT_LATENCY_MS;
  return (latencyMs * (candidate.inFlight + 1)) / candidate.effectiveWeight;
}

export function createPowerOfTwo(deps: { readonly rng: Rng }): Balancer {
  const { rng } = deps;
  return {
    pick(_request: PickRequest, candidates: readonly Candidate[]): Candidate | undefined {
      return pickBetterOfTwo(candidates, rng, peakEwmaCost);
    },
  };
}
