import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { createSeededRng } from '../core/rng.ts';
import { createLeastConnections } from './least-connections.ts';
import { candidatesArb, makeCandidate, makeWeighted, NO_KEY, shares } from './test-kit.ts';
import type { TestCandidate } from './test-kit.ts';

test('least_connections: picks the least loaded candidate', () => {
  const candidates = [
    makeCandidate('a', { inFlight: 5 }),
    makeCandidate('b', { inFlight: 1 }),
    makeCandidate('c', { inFlight: 3 }),
  ];
  const balancer = createLeastConnections({ rng: createSeededRng(1) });
  for (let i = 0; i < 100; i++) assert.equal(balancer.pick(NO_KEY, candidates)?.id, 'b');
});

test('least_connections: load is counted per unit of weight', () => {
  // a: 4 / 4 = 1 per weight, b: 2 / 1 = 2 per weight; a wins despite more requests in flight.
  const candidates = [makeCandidate('a', { inFlight: 4, effectiveWeight: 4 }), makeCandidate('b', { inFlight: 2 })];
  assert.equal(createLeastConnections({ rng: createSeededRng(1) }).pick(NO_KEY, candidates)?.id, 'a');
});

test('least_connections: ties are broken at random, not always the first', () => {
  const candidates = [makeCandidate('a', { inFlight: 1 }), makeCandidate('b', { inFlight: 1 }), makeCandidate('c', { inFlight: 9 })];
  const result = shares(createLeastConnections({ rng: createSeededRng(7) }), candidates, 10_000);
  assert.ok(Math.abs(result.get('a')! - 0.5) < 0.02);
  assert.ok(Math.abs(result.get('b')! - 0.5) < 0.02);
  assert.equal(result.get('c'), 0);
});

test('least_connections: empty set gives undefined, one candidate is always picked', () => {
  const balancer = createLeastConnections({ rng: createSeededRng(1) });
  assert.equal(balancer.pick(NO_KEY, []), undefined);
  const only = makeCandidate('only', { inFlight: 100 });
  assert.equal(balancer.pick(NO_KEY, [only]), only);
});

test('least_connections: 100k picks of an idle pool are uniform within 1 point (> 6 sigma)', () => {
  const result = shares(createLeastConnections({ rng: createSeededRng(42) }), makeWeighted([1, 1, 1, 1]), 100_000);
  for (const share of result.values()) assert.ok(Math.abs(share - 0.25) < 0.01, `share ${share}`);
});

test('least_connections: 100k picks under constant concurrency follow the weights within 1 point', () => {
  // Closed loop: 40 requests always in flight; each step one finishes at random and a new one is picked.
  // With equal service times a backend's throughput is its in-flight count, which least connections keeps ∝ weight.
  const rng = createSeededRng(3);
  const candidates: TestCandidate[] = makeWeighted([3, 1]);
  const balancer = createLeastConnections({ rng });
  const inFlight: TestCandidate[] = [];
  for (let i = 0; i < 40; i++) {
    const c = balancer.pick(NO_KEY, candidates) as TestCandidate;
    c.inFlight++;
    inFlight.push(c);
  }
  const counts = { a: 0, b: 0 };
  for (let i = 0; i < 100_000; i++) {
    const done = Math.floor(rng.next() * inFlight.length);
    inFlight[done]!.inFlight--;
    const c = balancer.pick(NO_KEY, candidates) as TestCandidate;
    c.inFlight++;
    inFlight[done] = c;
    counts[c.id as 'a' | 'b']++;
  }
  assert.ok(Math.abs(counts.a / 100_000 - 0.75) < 0.01, `a share ${counts.a / 100_000}`);
});


test('least_connections: property: always a member with the lowest load per weight', () => {
  fc.assert(
    fc.property(candidatesArb, fc.integer(), (candidates, seed) => {
      const picked = createLeastConnections({ rng: createSeededRng(seed) }).pick(NO_KEY, candidates);
      assert.ok(picked !== undefined && candidates.includes(picked));
      const lowest = Math.min(...candidates.map((c) => c.inFlight / c.effectiveWeight));
      assert.equal(picked.inFlight / picked.effectiveWeight, lowest);
    }),
  );
});
