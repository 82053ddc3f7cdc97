import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { createSeededRng } from '../core/rng.ts';
import { createAdaptive } from './adaptive.ts';
import { candidatesArb, makeCandidate, NO_KEY, shares } from './test-kit.ts';

test('adaptive: avoids a backend that fails fast (1 ms, 90 % errors) for a slower healthy one (20 ms)', () => {
  const candidates = [makeCandidate('a', { latencyEwmaMs: 1, errorEwma: 0.9 }), makeCandidate('b', { latencyEwmaMs: 20 })];
  const result = shares(createAdaptive({ rng: createSeededRng(1) }), candidates, 10_000);
  assert.ok(result.get('b')! > 0.99, `b share ${result.get('b')}`);
});

test('adaptive: with no errors it ranks by latency x in-flight like power_of_two', () => {
  const candidates = [makeCandidate('a', { latencyEwmaMs: 10, inFlight: 3 }), makeCandidate('b', { latencyEwmaMs: 20 })];
  assert.equal(createAdaptive({ rng: createSeededRng(1) }).pick(NO_KEY, candidates)?.id, 'b');
});

test('adaptive: a few errors only tilt the choice; errorPenalty 0 ignores errors', () => {
  // 5 % errors: factor 1 + 10 x 0.05 / 0.95 ~ 1.53, so 10 ms with errors still beats 20 ms without.
  const candidates = [makeCandidate('a', { latencyEwmaMs: 10, errorEwma: 0.05 }), makeCandidate('b', { latencyEwmaMs: 20 })];
  assert.equal(createAdaptive({ rng: createSeededRng(1) }).pick(NO_KEY, candidates)?.id, 'a');
  const failing = [makeCandidate('a', { latencyEwmaMs: 1, errorEwma: 0.9 }), makeCandidate('b', { latencyEwmaMs: 20 })];
  assert.equal(createAdaptive({ rng: createSeededRng(1) }, { errorPenalty: 0 }).pick(NO_KEY, failing)?.id, 'a');
});

test('adaptive: a backend failing everything stays comparable (finite cost) and loses', () => {
  const candidates = [makeCandidate('a', { latencyEwmaMs: 1, errorEwma: 1 }), makeCandidate('b', { latencyEwmaMs: 500 })];
  assert.equal(createAdaptive({ rng: createSeededRng(1) }).pick(NO_KEY, candidates)?.id, 'b');
});

test('adaptive: the predicted retry cost steers away from a backend whose answers clients retry, even without 5xx', () => {
  // same latency and load, no errors: b's answers (slow 200s clients gave up on, 429s) are retried half the time
  const candidates = [makeCandidate('a', { latencyEwmaMs: 20 }), makeCandidate('b', { latencyEwmaMs: 20, predictedRetryEwma: 0.5 })];
  const result = shares(createAdaptive({ rng: createSeededRng(1) }), candidates, 10_000);
  assert.ok(result.get('a')! > 0.99, `a share ${result.get('a')}`);
  // a small predicted retry share only tilts: 10 ms at r = 0.3 (cost 14.3) still beats 20 ms at r = 0
  const tilted = [makeCandidate('a', { latencyEwmaMs: 10, predictedRetryEwma: 0.3 }), makeCandidate('b', { latencyEwmaMs: 20 })];
  assert.equal(createAdaptive({ rng: createSeededRng(1) }).pick(NO_KEY, tilted)?.id, 'a');
  // certain retries stay finite and comparable: at most 100 attempts per request, 1 ms x 100 > 50 ms
  const certain = [makeCandidate('a', { latencyEwmaMs: 1, predictedRetryEwma: 1 }), makeCandidate('b', { latencyEwmaMs: 50 })];
  assert.equal(createAdaptive({ rng: createSeededRng(1) }).pick(NO_KEY, certain)?.id, 'b');
});

test('adaptive: rejects an invalid errorPenalty; undefined means the default', () => {
  assert.throws(() => createAdaptive({ rng: createSeededRng(1) }, { errorPenalty: -1 }), RangeError);
  assert.throws(() => createAdaptive({ rng: createSeededRng(1) }, { errorPenalty: Number.NaN }), RangeError);
  assert.doesNotThrow(() => createAdaptive({ rng: createSeededRng(1) }, { errorPenalty: undefined }));
});

test('adaptive: empty set gives undefined, one candidate is always picked', () => {
  const balancer = createAdaptive({ rng: createSeededRng(1) });
  assert.equal(balancer.pick(NO_KEY, []), undefined);
  const only = makeCandidate('only', { errorEwma: 1 });
  assert.equal(balancer.pick(NO_KEY, [only]), only);
});

test('adaptive: 100k picks: a fast-failing backend gets none, two healthy equals split within 1 point', () => {
  const candidates = [
    makeCandidate('failing', { latencyEwmaMs: 1, errorEwma: 0.9 }),
    makeCandidate('b', { latencyEwmaMs: 20 }),
    makeCandidate('c', { latencyEwmaMs: 20 }),
  ];
  const result = shares(createAdaptive({ rng: createSeededRng(11) }), candidates, 100_000);
  assert.equal(result.get('failing'), 0);
  assert.ok(Math.abs(result.get('b')! - 0.5) < 0.01, `b share ${result.get('b')}`);
});


test('adaptive: property: always a member; with equal latency and load, the more failing of two never wins', () => {
  fc.assert(
    fc.property(candidatesArb, fc.integer(), fc.double({ min: 0, max: 100, noNaN: true }), (candidates, seed, errorPenalty) => {
      const balancer = createAdaptive({ rng: createSeededRng(seed) }, { errorPenalty });
      for (let i = 0; i < 20; i++) {
        const picked = balancer.pick(NO_KEY, candidates);
        assert.ok(picked !== undefined && candidates.includes(picked));
      }
    }),
  );
  fc.assert(
    // Below the 0.999 cap, and apart by more than rounding, so that the penalty really differs.
    fc.property(fc.double({ min: 0, max: 0.99, noNaN: true }), fc.double({ min: 0, max: 0.99, noNaN: true }), fc.integer(), (e1, e2, seed) => {
      fc.pre(Math.abs(e1 - e2) > 1e-9);
      const pair = [makeCandidate('x', { latencyEwmaMs: 7, errorEwma: e1 }), makeCandidate('y', { latencyEwmaMs: 7, errorEwma: e2 })];
      const picked = createAdaptive({ rng: createSeededRng(seed) }).pick(NO_KEY, pair);
      assert.equal(picked?.errorEwma, Math.min(e1, e2));
    }),
  );
});
