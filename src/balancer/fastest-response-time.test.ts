import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { createSeededRng } from '../core/rng.ts';
import { createFastestResponseTime } from './fastest-response-time.ts';
import { makeCandidate, NO_KEY, shares } from './test-kit.ts';

test('fastest_response_time: picks the lowest latency EWMA', () => {
  const candidates = [
    makeCandidate('a', { latencyEwmaMs: 30 }),
    makeCandidate('b', { latencyEwmaMs: 12 }),
    makeCandidate('c', { latencyEwmaMs: 50 }),
  ];
  const balancer = createFastestResponseTime({ rng: createSeededRng(1) });
  for (let i = 0; i < 100; i++) assert.equal(balancer.pick(NO_KEY, candidates)?.id, 'b');
});

test('fastest_response_time: a candidate without a sample yet is probed first', () => {
  const candidates = [makeCandidate('a', { latencyEwmaMs: 5 }), makeCandidate('fresh', { latencyEwmaMs: 0 })];
  assert.equal(createFastestResponseTime({ rng: createSeededRng(1) }).pick(NO_KEY, candidates)?.id, 'fresh');
});

test('fastest_response_time: empty set gives undefined, one candidate is always picked', () => {
  const balancer = createFastestResponseTime({ rng: createSeededRng(1) });
  assert.equal(balancer.pick(NO_KEY, []), undefined);
  const only = makeCandidate('only', { latencyEwmaMs: 900 });
  assert.equal(balancer.pick(NO_KEY, [only]), only);
});

test('fastest_response_time: 100k picks among equals are uniform within 1 point (> 6 sigma); slower ones get none', () => {
  const candidates = [
    makeCandidate('a', { latencyEwmaMs: 10 }),
    makeCandidate('b', { latencyEwmaMs: 10 }),
    makeCandidate('c', { latencyEwmaMs: 10 }),
    makeCandidate('slow', { latencyEwmaMs: 11 }),
  ];
  const result = shares(createFastestResponseTime({ rng: createSeededRng(9) }), candidates, 100_000);
  for (const id of ['a', 'b', 'c']) assert.ok(Math.abs(result.get(id)! - 1 / 3) < 0.01, `${id}: ${result.get(id)}`);
  assert.equal(result.get('slow'), 0);
});

const candidatesArb = fc.uniqueArray(
  fc.record({
    id: fc.string({ minLength: 1, maxLength: 6 }),
    effectiveWeight: fc.double({ min: 0.01, max: 100, noNaN: true }),
    inFlight: fc.nat(100),
    latencyEwmaMs: fc.oneof(fc.constant(0), fc.double({ min: 0, max: 1000, noNaN: true })),
    errorEwma: fc.double({ min: 0, max: 1, noNaN: true }),
  }),
  { minLength: 1, maxLength: 20, selector: (c) => c.id },
);

test('fastest_response_time: property: always a member with the lowest latency', () => {
  fc.assert(
    fc.property(candidatesArb, fc.integer(), (candidates, seed) => {
      const picked = createFastestResponseTime({ rng: createSeededRng(seed) }).pick(NO_KEY, candidates);
      assert.ok(picked !== undefined && candidates.includes(picked));
      assert.equal(picked.latencyEwmaMs, Math.min(...candidates.map((c) => c.latencyEwmaMs)));
    }),
  );
});
