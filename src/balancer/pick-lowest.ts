// Shared by the "lowest score wins" strategies (least connections, fastest response time).
import type { Candidate } from './balancer.ts';
import type { Rng } from '../core/rng.ts';

/**
 * The candidate with the lowest score; ties broken uniformly at random by reservoir sampling,
 * in one pass and without allocating. Always taking the first of equals would send every
 * request of an idle pool to the same backend, a herd that least-connections exists to avoid.
 */
export function pickLowest(
  candidates: readonly Candidate[],
  rng: Rng,
  score: (candidate: Candidate) => number,
): Candidate | undefined {
  const n = candidates.length;
  if (n === 0) return undefined;
  let best = candidates[0]!;
  if (n === 1) return best;
  let bestScore = score(best);
  let ties = 1;
  for (let i = 1; i < n; i++) {
    const candidate = candidates[i]!;
    const s = score(candidate);
    if (s < bestScore) {
      best = candidate;
      bestScore = s;
      ties = 1;
    } else if (s === bestScore) {
      ties++;
      // Keep the k-th equal with probability 1/k: each of the k equals ends up chosen with 1/k.
      if (rng.next() * ties < 1) best = candidate;
    }
  }
  return best;
}
