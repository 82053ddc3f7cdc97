import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { buildRing, createIpHash, MAX_RING_POINTS, POINTS_PER_WEIGHT } from './ip-hash.ts';
import type { Balancer, Candidate } from './balancer.ts';
import { makeCandidate, makeWeighted, NO_KEY } from './test-kit.ts';

function owner(balancer: Balancer, candidates: readonly Candidate[], key: string): string {
  const picked = balancer.pick({ hashKey: key }, candidates);
  assert.ok(picked !== undefined && candidates.includes(picked));
  return picked.id;
}

function keyShares(candidates: readonly Candidate[], keys: number): Map<string, number> {
  const balancer = createIpHash();
  const counts = new Map<string, number>();
  for (let i = 0; i < keys; i++) {
    const id = owner(balancer, candidates, `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`);
    counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  return new Map([...counts].map(([id, count]) => [id, count / keys]));
}

test('ip_hash: the same key always goes to the same backend', () => {
  const candidates = makeWeighted([1, 1, 1, 1, 1]);
  const balancer = createIpHash();
  const first = owner(balancer, candidates, '203.0.113.7');
  for (let i = 0; i < 50; i++) assert.equal(owner(balancer, candidates, '203.0.113.7'), first);
  // A fresh instance (another worker, another generation) agrees: nothing depends on process state.
  assert.equal(owner(createIpHash(), candidates, '203.0.113.7'), first);
});

test('ip_hash: an empty key is still deterministic', () => {
  const candidates = makeWeighted([1, 1, 1]);
  assert.equal(owner(createIpHash(), candidates, ''), owner(createIpHash(), candidates, ''));
});

test('ip_hash: the mapping does not depend on the order of the candidates', () => {
  const candidates = makeWeighted([1, 2, 1, 3]);
  const reversed = [...candidates].reverse();
  const a = createIpHash();
  const b = createIpHash();
  for (let i = 0; i < 1000; i++) assert.equal(owner(a, candidates, `k${i}`), owner(b, reversed, `k${i}`));
});

test('ip_hash: the ring is rebuilt when the array changes, not when a weight changes in place', () => {
  const candidates = makeWeighted([1, 1]);
  const balancer = createIpHash();
  const before = Array.from({ length: 2000 }, (_, i) => owner(balancer, candidates, `k${i}`));
  candidates[0]!.effectiveWeight = 50;
  const inPlace = Array.from({ length: 2000 }, (_, i) => owner(balancer, candidates, `k${i}`));
  assert.deepEqual(inPlace, before);
  const fresh = [...candidates];
  const after = Array.from({ length: 2000 }, (_, i) => owner(balancer, fresh, `k${i}`));
  assert.ok(after.filter((id) => id === 'a').length > 1900);
});

test('ip_hash: empty set gives undefined, one candidate is always picked', () => {
  const balancer = createIpHash();
  assert.equal(balancer.pick(NO_KEY, []), undefined);
  const only = makeCandidate('only');
  assert.equal(balancer.pick({ hashKey: 'x' }, [only]), only);
});

test('ip_hash: ring size follows weights and stays under its cap', () => {
  assert.equal(buildRing(makeWeighted([1, 2])).points.length, 3 * POINTS_PER_WEIGHT);
  assert.equal(buildRing(makeWeighted([0.0001, 1])).points.length, 1 + POINTS_PER_WEIGHT);
  const huge = buildRing(makeWeighted(Array.from({ length: 20 }, () => 1000)));
  assert.ok(huge.points.length <= MAX_RING_POINTS);
  for (let i = 1; i < huge.points.length; i++) assert.ok(huge.points[i - 1]! <= huge.points[i]!);
});

test('ip_hash: 100k keys over 4 equal backends: each share within 3 points of 25 %', () => {
  // Share error of a ring is ~ 1/sqrt(points per backend) = 1/32 relative, i.e. ~0.8 point here.
  for (const share of keyShares(makeWeighted([1, 1, 1, 1]), 100_000).values()) {
    assert.ok(Math.abs(share - 0.25) < 0.03, `share ${share}`);
  }
});

test('ip_hash: 100k keys with weights 3,1: shares within 3 points of 75/25 %', () => {
  const result = keyShares(makeWeighted([3, 1]), 100_000);
  assert.ok(Math.abs(result.get('a')! - 0.75) < 0.03, `a share ${result.get('a')}`);
});

const idsArb = fc.uniqueArray(fc.string({ minLength: 1, maxLength: 8 }), { minLength: 2, maxLength: 12 });
const keysArb = fc.array(fc.string({ maxLength: 16 }), { minLength: 50, maxLength: 200 });

test('ip_hash: property: same key, same backend; a leave moves only the keys of the backend that left', () => {
  fc.assert(
    fc.property(idsArb, keysArb, fc.nat(), (ids, keys, drop) => {
      const full = ids.map((id) => makeCandidate(id));
      const removed = full[drop % full.length]!;
      const rest = full.filter((c) => c !== removed);
      const balancer = createIpHash();
      const before = keys.map((k) => owner(balancer, full, k));
      assert.deepEqual(keys.map((k) => owner(balancer, full, k)), before);
      const after = keys.map((k) => owner(balancer, rest, k));
      keys.forEach((_, i) => {
        if (before[i] !== removed.id) assert.equal(after[i], before[i], 'a key moved although its backend stayed');
      });
    }),
  );
});

test('ip_hash: property: a join moves keys only to the newcomer, about 1/(n+1) of them', () => {
  const keys = Array.from({ length: 4000 }, (_, i) => `198.51.${i >> 8}.${i & 255}`);
  fc.assert(
    fc.property(idsArb, fc.string({ minLength: 1, maxLength: 8 }), (ids, newcomerId) => {
      fc.pre(!ids.includes(newcomerId));
      const before = ids.map((id) => makeCandidate(id));
      const after = [...before, makeCandidate(newcomerId)];
      const balancer = createIpHash();
      const owners = keys.map((k) => owner(balancer, before, k));
      let moved = 0;
      keys.forEach((k, i) => {
        const now = owner(balancer, after, k);
        if (now !== owners[i]) {
          assert.equal(now, newcomerId, 'a key moved between two backends that both stayed');
          moved++;
        }
      });
      // Expected share 1/(n+1); allow 1.5x for ring imbalance and sampling of 4000 keys.
      assert.ok(moved / keys.length <= 1.5 / after.length, `moved ${moved / keys.length} with n+1=${after.length}`);
    }),
    { numRuns: 50 },
  );
});
