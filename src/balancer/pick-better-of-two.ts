// The power of two choices (Mitzenmacher): two candidates drawn at random, the cheaper one wins.
// It avoids the herd that "always the global minimum" causes when costs are stale between updates.
import type { Candidate } from './balancer.ts';
import type { Rng } from '../core/rng.ts';

/** Two distinct candidates drawn uniformly; the lower cost wins, ties go to the first draw (itself random). */
export function pickBetterOfTwo(
  candidates: readonly Candidate[],
  rng: Rng,
  cost: (candidate: Candidate) => number,
): Candidate | undefined {
  const n = candidates.length;
  if (n === 0) return undefined;
  if (n === 1) return candidates[0];
  const i = Math.floor(rng.next() * n);
  // Draw the second among the other n - 1 and skip over i: distinct without a retry loop.
  let j = Math.floor(rng.next() * (n - 1));
  if (j >= i) j++;
  const first = candidates[i]!;
  const second = candidates[j]!;
  return cost(second) < cost(first) ? second : first;
}
