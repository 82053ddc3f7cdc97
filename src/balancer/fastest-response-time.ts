// Fastest response time: the lowest latency EWMA. A backend without a sample yet (0) counts as the
// fastest, so that a new or returning backend gets probed instead of being starved forever.
import type { Balancer, Candidate, PickRequest } from './balancer.ts';
import type { Rng } from '../core/rng.ts';
import { pickLowest } from './pick-lowest.ts';

function latency(candidate: Candidate): number {
  return candidate.latencyEwmaMs;
}

export function createFastestResponseTime(deps: { readonly rng: Rng }): Balancer {
  const { rng } = deps;
  return {
    pick(_request: PickRequest, candidates: readonly Candidate[]): Candidate | undefined {
      return pickLowest(candidates, rng, latency);
    },
  };
}
