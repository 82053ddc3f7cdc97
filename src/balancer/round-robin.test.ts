import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { createRoundRobin } from './round-robin.ts';
import { makeCandidate, makeWeighted, NO_KEY, sequence, shares } from './test-kit.ts';

test('round_robin: visits every candidate in order, then wraps', () => {
  const candidates = makeWeighted([1, 1, 1]);
  assert.deepEqual(sequence(createRoundRobin(), candidates, 7), ['a', 'b', 'c', 'a', 'b', 'c', 'a']);
});

test('round_robin: ignores weights', () => {
  const candidates = makeWeighted([10, 1]);
  assert.deepEqual(sequence(createRoundRobin(), candidates, 4), ['a', 'b', 'a', 'b']);
});

test('round_robin: empty set gives undefined, one candidate is always picked', () => {
  const balancer = createRoundRobin();
  assert.equal(balancer.pick(NO_KEY, []), undefined);
  const only = makeCandidate('only');
  for (let i = 0; i < 3; i++) assert.equal(balancer.pick(NO_KEY, [only]), only);
});

test('round_robin: a shrunk set keeps rotating instead of restarting at the first backend', () => {
  const balancer = createRoundRobin();
  const four = makeWeighted([1, 1, 1, 1]);
  sequence(balancer, four, 3); // a, b, c: the cursor is now at index 3
  const two = four.slice(0, 2);
  assert.deepEqual(sequence(balancer, two, 3), ['b', 'a', 'b']);
});

test('round_robin: 100k picks over 4 candidates are split exactly', () => {
  const result = shares(createRoundRobin(), makeWeighted([1, 1, 1, 1]), 100_000);
  for (const share of result.values()) assert.equal(share, 0.25);
});

test('round_robin: property: always one of the candidates, each once per cycle', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 50 }), fc.nat(200), (n, warmup) => {
      const candidates = Array.from({ length: n }, (_, i) => makeCandidate(`b${i}`));
      const balancer = createRoundRobin();
      for (let i = 0; i < warmup; i++) balancer.pick(NO_KEY, candidates);
      const seen = new Set<string>();
      for (let i = 0; i < n; i++) {
        const picked = balancer.pick(NO_KEY, candidates);
        assert.ok(picked !== undefined && candidates.includes(picked));
        seen.add(picked.id);
      }
      assert.equal(seen.size, n);
    }),
  );
});
