import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { createSeededRng } from '../core/rng.ts';
import { Algorithms } from './balancer.ts';
import { createBalancer } from './create-balancer.ts';
import { candidatesArb, makeCandidate, NO_KEY } from './test-kit.ts';

test('createBalancer: builds every configured algorithm', () => {
  for (const algorithm of Algorithms) {
    const balancer = createBalancer(algorithm, { rng: createSeededRng(1) });
    assert.equal(typeof balancer.pick, 'function', algorithm);
  }
});

test('createBalancer: rejects an unknown algorithm name (a bug upstream, config validation owns names)', () => {
  assert.throws(() => createBalancer('nope' as never, { rng: createSeededRng(1) }), RangeError);
});

test('createBalancer: passes errorPenalty to adaptive; undefined keeps the default', () => {
  assert.throws(() => createBalancer('adaptive', { rng: createSeededRng(1) }, { errorPenalty: -1 }), RangeError);
  assert.doesNotThrow(() => createBalancer('adaptive', { rng: createSeededRng(1) }, { errorPenalty: undefined }));
});


test('createBalancer: property: every algorithm returns a member for a non-empty set, undefined for an empty one', () => {
  fc.assert(
    fc.property(fc.constantFrom(...Algorithms), candidatesArb, fc.string(), fc.integer(), (algorithm, candidates, hashKey, seed) => {
      const balancer = createBalancer(algorithm, { rng: createSeededRng(seed) });
      assert.equal(balancer.pick(NO_KEY, []), undefined);
      for (let i = 0; i < 10; i++) {
        const picked = balancer.pick({ hashKey }, candidates);
        assert.ok(picked !== undefined && candidates.includes(picked), algorithm);
      }
      assert.equal(balancer.pick({ hashKey }, [makeCandidate('solo')])?.id, 'solo');
    }),
  );
});
