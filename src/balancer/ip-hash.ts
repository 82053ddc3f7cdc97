// ip_hash: consistent hashing of request.hashKey onto a ring of virtual nodes (Karger et al.; ketama).
// A ring rather than Maglev because a ring moves strictly only the keys of a backend that leaves:
// Maglev rebalances its whole table and moves a few other keys too, which breaks stickiness for
// clients whose backend never changed.
import type { Balancer, Candidate, PickRequest } from './balancer.ts';
import { fnv1a32 } from '../core/hash.ts';

/** Virtual nodes per unit of effectiveWeight: share error ~ 1/sqrt(points), about 3 % at weight 1. */
export const POINTS_PER_WEIGHT = 1024;

/** Ring size cap (8 MiB of typed arrays): beyond it every backend's points are scaled down alike. */
export const MAX_RING_POINTS = 1 << 20;

// Sort key = hash x 2^21 + rank, exact in a double (32 + 21 bits); ranks need fewer than 2^21 candidates.
const RANK_SPAN = 2 ** 21;

interface Ring {
  /** Point hashes, ascending. */
  readonly points: Uint32Array;
  /** Index into the candidates array of each point's owner. */
  readonly owners: Uint32Array;
}

/** murmur3 fmix32: spreads a point's index into an independent-looking 32-bit hash. */
function fmix32(x: number): number {
  let h = x >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * A backend's points depend only on its own id and weight (not on the rest of the set, while the
 * ring stays under its cap), so a join or a leave moves only the keys of that backend.
 */
function pointCount(weight: number, scale: number): number {
  // Rounded down so that a scaled-down ring stays under its cap (up to the one point every backend gets).
  const count = Math.floor(weight * scale);
  return count > 1 ? count : 1;
}

/** Ties between equal hashes go to the smaller id: the order then does not depend on array order. */
function ranksById(candidates: readonly Candidate[]): Uint32Array {
  const order = candidates.map((_, i) => i).sort((a, b) => {
    const idA = candidates[a]!.id;
    const idB = candidates[b]!.id;
    return idA < idB ? -1 : idA > idB ? 1 : a - b;
  });
  const ranks = new Uint32Array(candidates.length);
  for (let r = 0; r < order.length; r++) ranks[order[r]!] = r;
  return ranks;
}

export function buildRing(candidates: readonly Candidate[]): Ring {
  if (candidates.length >= RANK_SPAN) throw new RangeError(`ip_hash: too many candidates (${candidates.length})`);
  let totalWeight = 0;
  for (const c of candidates) totalWeight += c.effectiveWeight;
  const scale = Math.min(POINTS_PER_WEIGHT, MAX_RING_POINTS / totalWeight);
  let size = 0;
  for (const c of candidates) size += pointCount(c.effectiveWeight, scale);

  const ranks = ranksById(candidates);
  const byRank = new Uint32Array(candidates.length);
  for (let i = 0; i < candidates.length; i++) byRank[ranks[i]!] = i;

  const keys = new Float64Array(size);
  let k = 0;
  for (let i = 0; i < candidates.length; i++) {
    const c = candidates[i]!;
    const idHash = fnv1a32(c.id);
    const count = pointCount(c.effectiveWeight, scale);
    for (let p = 0; p < count; p++) {
      // Golden-ratio stride then fmix32: distinct points per backend, spread over the whole ring.
      const hash = fmix32((idHash + Math.imul(p + 1, 0x9e3779b9)) | 0);
      keys[k++] = hash * RANK_SPAN + ranks[i]!;
    }
  }
  keys.sort(); // typed-array sort is numeric

  const points = new Uint32Array(size);
  const owners = new Uint32Array(size);
  for (let q = 0; q < size; q++) {
    const key = keys[q]!;
    const hash = Math.floor(key / RANK_SPAN);
    points[q] = hash;
    owners[q] = byRank[key - hash * RANK_SPAN]!;
  }
  return { points, owners };
}

/** Index of the first point >= hash, wrapping to 0 past the last point (the ring closes). */
function successor(points: Uint32Array, hash: number): number {
  let lo = 0;
  let hi = points.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (points[mid]! < hash) lo = mid + 1;
    else hi = mid;
  }
  return lo === points.length ? 0 : lo;
}

export function createIpHash(): Balancer {
  let lastCandidates: readonly Candidate[] | undefined;
  let ring: Ring | undefined;
  return {
    pick(request: PickRequest, candidates: readonly Candidate[]): Candidate | undefined {
      const n = candidates.length;
      if (n === 0) return undefined;
      if (n === 1) return candidates[0];
      // Built once per set (the runtime hands a new array only when the eligible set or a weight
      // changes); a pick is then one hash and a binary search, with no allocation.
      if (candidates !== lastCandidates || ring === undefined) {
        ring = buildRing(candidates);
        lastCandidates = candidates;
      }
      // An empty key hashes like any other string: every keyless request goes to one backend, deterministically.
      const hash = fnv1a32(request.hashKey);
      return candidates[ring.owners[successor(ring.points, hash)]!];
    },
  };
}
