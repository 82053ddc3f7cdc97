import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { createSeededRng } from '../core/rng.ts';
import { createRandom } from './random.ts';
import { candidatesArb, makeCandidate, makeWeighted, NO_KEY, sequence, shares } from './test-kit.ts';

test('random: same seed, same sequence (randomness is injected)', () => {
  const candidates = makeWeighted([1, 1, 1, 1]);
  assert.deepEqual(sequence(createRandom({ rng: createSeededRng(3) }), candidates, 50), sequence(createRandom({ rng: createSeededRng(3) }), candidates, 50));
});

test('random: draws map onto cumulative weights', () => {
  const candidates = makeWeighted([1, 3]);
  const draws = [0, 0.2499, 0.25, 0.9999];
  let k = 0;
  const balancer = createRandom({ rng: { next: () => draws[k++]! } });
  assert.deepEqual(sequence(balancer, candidates, 4), ['a', 'a', 'b', 'b']);
});

test('random: empty set gives undefined, one candidate is always picked', () => {
  const balancer = createRandom({ rng: createSeededRng(1) });
  assert.equal(balancer.pick(NO_KEY, []), undefined);
  const only = makeCandidate('only');
  assert.equal(balancer.pick(NO_KEY, [only]), only);
});

test('random: 100k picks with weights 1,2,3,4 are within 1 point of 10/20/30/40 % (> 6 sigma)', () => {
  const result = shares(createRandom({ rng: createSeededRng(2024) }), makeWeighted([1, 2, 3, 4]), 100_000);
  const expected = [0.1, 0.2, 0.3, 0.4];
  [...result.values()].forEach((share, i) => assert.ok(Math.abs(share - expected[i]!) < 0.01, `share ${i}: ${share}`));
});


test('random: property: always a member, whatever the weights and the draw (including just below 1)', () => {
  fc.assert(
    fc.property(candidatesArb, fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), (candidates, draw) => {
      const picked = createRandom({ rng: { next: () => draw } }).pick(NO_KEY, candidates);
      assert.ok(picked !== undefined && candidates.includes(picked));
    }),
  );
});
