import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { createWeightedRoundRobin } from './weighted-round-robin.ts';
import { makeCandidate, makeWeighted, NO_KEY, sequence, shares } from './test-kit.ts';

test('weighted_round_robin: weights 5,1,1 give NGINX\'s smooth sequence a,a,b,a,c,a,a', () => {
  const candidates = makeWeighted([5, 1, 1]);
  const balancer = createWeightedRoundRobin();
  const cycle = ['a', 'a', 'b', 'a', 'c', 'a', 'a'];
  assert.deepEqual(sequence(balancer, candidates, 14), [...cycle, ...cycle]);
});

test('weighted_round_robin: equal weights behave like round robin', () => {
  assert.deepEqual(sequence(createWeightedRoundRobin(), makeWeighted([2, 2, 2]), 6), ['a', 'b', 'c', 'a', 'b', 'c']);
});

test('weighted_round_robin: empty set gives undefined, one candidate is always picked', () => {
  const balancer = createWeightedRoundRobin();
  assert.equal(balancer.pick(NO_KEY, []), undefined);
  const only = makeCandidate('only', { effectiveWeight: 3 });
  for (let i = 0; i < 3; i++) assert.equal(balancer.pick(NO_KEY, [only]), only);
});

test('weighted_round_robin: a weight changed in place (slow start) takes effect without a new set', () => {
  const candidates = makeWeighted([1, 1]);
  const balancer = createWeightedRoundRobin();
  sequence(balancer, candidates, 2);
  candidates[1]!.effectiveWeight = 3;
  const result = shares(balancer, candidates, 4_000);
  assert.equal(result.get('b'), 0.75);
});

test('weighted_round_robin: a backend that left and came back starts from zero, the others keep their state', () => {
  const [a, b, c] = makeWeighted([5, 1, 1]);
  const balancer = createWeightedRoundRobin();
  // Current weights after a, a, b: a=1, b=-4, c=3.
  assert.deepEqual(sequence(balancer, [a!, b!, c!], 3), ['a', 'a', 'b']);
  // c leaves: a=0, b=-3 after this pick, and c's 3 is forgotten.
  assert.deepEqual(sequence(balancer, [a!, b!], 1), ['a']);
  // Had c kept its 3, the second pick would be c (a, c); from zero it waits one more turn.
  assert.deepEqual(sequence(balancer, [a!, b!, c!], 3), ['a', 'a', 'c']);
});

test('weighted_round_robin: 100k picks with weights 5,3,2 are split exactly 50/30/20 %', () => {
  const result = shares(createWeightedRoundRobin(), makeWeighted([5, 3, 2]), 100_000);
  assert.deepEqual([...result.values()], [0.5, 0.3, 0.2]);
});

test('weighted_round_robin: property: a member always; each cycle of sum(weights) picks honours integer weights', () => {
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 1, max: 10 }), { minLength: 1, maxLength: 12 }), fc.nat(50), (weights, warmup) => {
      const candidates = makeWeighted(weights);
      const balancer = createWeightedRoundRobin();
      for (let i = 0; i < warmup; i++) balancer.pick(NO_KEY, candidates);
      const total = weights.reduce((s, w) => s + w, 0);
      const counts = new Map<string, number>();
      for (let i = 0; i < total; i++) {
        const picked = balancer.pick(NO_KEY, candidates);
        assert.ok(picked !== undefined && candidates.includes(picked));
        counts.set(picked.id, (counts.get(picked.id) ?? 0) + 1);
      }
      for (const c of candidates) assert.equal(counts.get(c.id) ?? 0, c.effectiveWeight);
    }),
  );
});
