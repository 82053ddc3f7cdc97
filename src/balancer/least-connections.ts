// Least connections, weighted (NGINX `least_conn`, HAProxy `leastconn`): lowest inFlight / effectiveWeight.
import type { Balancer, Candidate, PickRequest } from './balancer.ts';
import type { Rng } from '../core/rng.ts';
import { pickLowest } from './pick-lowest.ts';

function loadPerWeight(candidate: Candidate): number {
  return candidate.inFlight / candidate.effectiveWeight;
}

export function createLeastConnections(deps: { readonly rng: Rng }): Balancer {
  const { rng } = deps;
  return {
    pick(_request: PickRequest, candidates: readonly Candidate[]): Candidate | undefined {
      return pickLowest(candidates, rng, loadPerWeight);
    },
  };
}
