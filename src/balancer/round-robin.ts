// Round robin: every candidate in turn, ignoring weights and load (NGINX/HAProxy `roundrobin` with equal weights).
import type { Balancer, Candidate, PickRequest } from './balancer.ts';

export function createRoundRobin(): Balancer {
  let next = 0;
  return {
    pick(_request: PickRequest, candidates: readonly Candidate[]): Candidate | undefined {
      const n = candidates.length;
      if (n === 0) return undefined;
      // The cursor outlives set changes: when the set shrinks it wraps instead of resetting,
      // so a health flap does not send a burst to the first backend.
      const i = next < n ? next : next % n;
      next = i + 1;
      return candidates[i];
    },
  };
}
