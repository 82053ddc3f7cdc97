// NGINX's smooth weighted round robin (ngx_http_upstream_get_peer): weights 5,1,1 give a,a,b,a,c,a,a
// rather than a,a,a,a,a,b,c, so a heavy backend never receives a long burst.
import type { Balancer, Candidate, PickRequest } from './balancer.ts';

interface SmoothState {
  currentWeight: number;
}

export function createWeightedRoundRobin(): Balancer {
  let lastCandidates: readonly Candidate[] | undefined;
  // State by id survives set changes, so a backend that stays keeps its place in the cycle.
  let stateById = new Map<string, SmoothState>();
  // Aligned with lastCandidates by index: the hot loop reads arrays, never the Map.
  let states: SmoothState[] = [];

  function rebind(candidates: readonly Candidate[]): void {
    const nextById = new Map<string, SmoothState>();
    const nextStates = new Array<SmoothState>(candidates.length);
    for (let i = 0; i < candidates.length; i++) {
      const id = candidates[i]!.id;
      const state = stateById.get(id) ?? nextById.get(id) ?? { currentWeight: 0 };
      nextById.set(id, state);
      nextStates[i] = state;
    }
    // Ids no longer present are forgotten here; a backend that comes back starts from 0, as in NGINX.
    stateById = nextById;
    states = nextStates;
    lastCandidates = candidates;
  }

  return {
    pick(_request: PickRequest, candidates: readonly Candidate[]): Candidate | undefined {
      const n = candidates.length;
      if (n === 0) return undefined;
      if (n === 1) return candidates[0];
      if (candidates !== lastCandidates) rebind(candidates);
      // effectiveWeight is read on every pick: a slow-start ramp changes it without changing the set.
      let total = 0;
      let best = 0;
      let bestWeight = -Infinity;
      for (let i = 0; i < n; i++) {
        const weight = candidates[i]!.effectiveWeight;
        const state = states[i]!;
        state.currentWeight += weight;
        total += weight;
        // Strictly greater: the first of equals wins, which is what yields NGINX's documented order.
        if (state.currentWeight > bestWeight) {
          best = i;
          bestWeight = state.currentWeight;
        }
      }
      states[best]!.currentWeight -= total;
      return candidates[best];
    },
  };
}
