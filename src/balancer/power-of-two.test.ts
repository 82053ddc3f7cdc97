import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { createSeededRng } from '../core/rng.ts';
import { createPowerOfTwo, DEFAULT_LATENCY_MS, peakEwmaCost } from './power-of-two.ts';
import { candidatesArb, makeCandidate, NO_KEY, shares } from './test-kit.ts';

test('power_of_two: cost is latency x (inFlight + 1) / weight, with a default latency before the first sample', () => {
  assert.equal(peakEwmaCost(makeCandidate('a', { latencyEwmaMs: 20, inFlight: 3, effectiveWeight: 2 })), 40);
  assert.equal(peakEwmaCost(makeCandidate('b', { latencyEwmaMs: 0, inFlight: 1 })), 2 * DEFAULT_LATENCY_MS);
});

test('power_of_two: with two candidates the cheaper one always wins', () => {
  const candidates = [makeCandidate('slow', { latencyEwmaMs: 50 }), makeCandidate('fast', { latencyEwmaMs: 10, inFlight: 2 })];
  const balancer = createPowerOfTwo({ rng: createSeededRng(1) });
  for (let i = 0; i < 100; i++) assert.equal(balancer.pick(NO_KEY, candidates)?.id, 'fast');
});

test('power_of_two: empty set gives undefined, one candidate is always picked', () => {
  const balancer = createPowerOfTwo({ rng: createSeededRng(1) });
  assert.equal(balancer.pick(NO_KEY, []), undefined);
  const only = makeCandidate('only', { latencyEwmaMs: 900 });
  assert.equal(balancer.pick(NO_KEY, [only]), only);
});

test('power_of_two: 100k picks over costs ranked 1..4 give 3/6, 2/6, 1/6, 0 within 1 point (> 6 sigma)', () => {
  // The k-th cheapest of n wins when drawn with a costlier one: (n - k) of the C(n, 2) pairs.
  // The costliest never wins, which also shows the two draws are distinct.
  const candidates = [1, 2, 3, 4].map((ms) => makeCandidate(`ms${ms}`, { latencyEwmaMs: ms }));
  const result = shares(createPowerOfTwo({ rng: createSeededRng(5) }), candidates, 100_000);
  const expected = [3 / 6, 2 / 6, 1 / 6, 0];
  candidates.forEach((c, i) => assert.ok(Math.abs(result.get(c.id)! - expected[i]!) < 0.01, `${c.id}: ${result.get(c.id)}`));
  assert.equal(result.get('ms4'), 0);
});


test('power_of_two: property: always a member, and never the single costliest of two or more', () => {
  fc.assert(
    fc.property(candidatesArb, fc.integer(), (candidates, seed) => {
      const balancer = createPowerOfTwo({ rng: createSeededRng(seed) });
      const costs = candidates.map(peakEwmaCost);
      const worst = Math.max(...costs);
      const isWorstUnique = costs.filter((c) => c === worst).length === 1;
      for (let i = 0; i < 20; i++) {
        const picked = balancer.pick(NO_KEY, candidates);
        assert.ok(picked !== undefined && candidates.includes(picked));
        if (candidates.length > 1 && isWorstUnique) assert.notEqual(peakEwmaCost(picked), worst);
      }
    }),
  );
});
