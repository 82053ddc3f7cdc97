// ip_hash: consistent hashing of request.hashKey onto a ring of virtual nodes (Karger et al.; ketama).
// A ring rather than Maglev because a ring moves strictly only the keys of a backend that leaves:
// Maglev rebalances its whole table and moves a few other keys too, which breaks stickiness for
// clients whose backend never changed.
import type { Balancer, Candidate, PickRequest } from './balancer.ts';
import { fmix32, fnv1a32 } from '../core/hash.ts';

/**
 * Virtual nodes per unit of effectiveWeight: a backend's share is off by ~1/sqrt(points), about 3 %
 * (one sigma) at weight 1. More points would cost build time on every set change.
 */
export const POINTS_PER_WEIGHT = 1024;

/** Ring size cap (8 MiB of typed arrays): beyond it every backend's points are scaled down alike. */
export const MAX_RING_POINTS = 1 << 20;

interface Ring {
  /** Point hashes, ascending. */
  readonly points: Uint32Array;
  /** Index into the candidates array of each point's owner. */
  readonly owners: Uint32Array;
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

/** Candidate indexes in id order: filling the ring in this order makes equal hashes tie-break by id. */
function indexesById(candidates: readonly Candidate[]): number[] {
  return candidates
    .map((_, i) => i)
    .sort((a, b) => {
      const idA = candidates[a]!.id;
      const idB = candidates[b]!.id;
      return idA < idB ? -1 : idA > idB ? 1 : a - b;
    });
}

/**
 * Stable LSD radix sort of (hash, owner) pairs, two 16-bit digits. Several times faster than a
 * comparison sort at ring sizes (300 backends = 300k points), and a rebuild runs on the event loop.
 */
function sortPairs(hashes: Uint32Array, owners: Uint32Array): void {
  const n = hashes.length;
  const counts = new Uint32Array(1 << 16);
  let srcHashes = hashes;
  let srcOwners = owners;
  let dstHashes: Uint32Array = new Uint32Array(n);
  let dstOwners: Uint32Array = new Uint32Array(n);
  for (let shift = 0; shift < 32; shift += 16) {
    counts.fill(0);
    for (let i = 0; i < n; i++) counts[(srcHashes[i]! >>> shift) & 0xffff]!++;
    let start = 0;
    for (let d = 0; d < counts.length; d++) {
      const count = counts[d]!;
      counts[d] = start;
      start += count;
    }
    for (let i = 0; i < n; i++) {
      const at = counts[(srcHashes[i]! >>> shift) & 0xffff]!++;
      dstHashes[at] = srcHashes[i]!;
      dstOwners[at] = srcOwners[i]!;
    }
    [srcHashes, dstHashes] = [dstHashes, srcHashes];
    [srcOwners, dstOwners] = [dstOwners, srcOwners];
  }
  // An even number of passes leaves the sorted pairs back in the arrays passed in.
}

export function buildRing(candidates: readonly Candidate[]): Ring {
  let totalWeight = 0;
  for (const c of candidates) totalWeight += c.effectiveWeight;
  const scale = Math.min(POINTS_PER_WEIGHT, MAX_RING_POINTS / totalWeight);
  let size = 0;
  for (const c of candidates) size += pointCount(c.effectiveWeight, scale);

  const points = new Uint32Array(size);
  const owners = new Uint32Array(size);
  let k = 0;
  for (const i of indexesById(candidates)) {
    const c = candidates[i]!;
    const idHash = fnv1a32(c.id);
    const count = pointCount(c.effectiveWeight, scale);
    for (let p = 0; p < count; p++) {
      // Golden-ratio stride then fmix32: distinct points per backend, spread over the whole ring.
      points[k] = fmix32((idHash + Math.imul(p + 1, 0x9e3779b9)) | 0);
      owners[k++] = i;
    }
  }
  sortPairs(points, owners);
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
