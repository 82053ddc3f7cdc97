import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { selectEligible } from './eligibility.ts';

interface B {
  id: string;
  isHealthy: boolean;
  isEjected: boolean;
  isDraining: boolean;
  effectiveWeight: number;
}

function b(id: string, patch: Partial<B> = {}): B {
  return { id, isHealthy: true, isEjected: false, isDraining: false, effectiveWeight: 1, ...patch };
}

const ids = (list: readonly B[]): string[] => list.map((x) => x.id);

test('keeps only healthy, not ejected, not draining, weighted backends, in order', () => {
  const all = [b('a'), b('b', { isHealthy: false }), b('c', { isEjected: true }), b('d', { isDraining: true }), b('e', { effectiveWeight: 0 }), b('f')];
  const result = selectEligible(all, 0);
  assert.deepEqual(ids(result.eligible), ['a', 'f']);
  assert.equal(result.isPanic, false);
});

test('below the panic threshold, health and ejection are ignored but draining and weight 0 are not', () => {
  const all = [b('a'), b('b', { isHealthy: false }), b('c', { isEjected: true }), b('d', { isDraining: true }), b('e', { effectiveWeight: 0 })];
  // 1 of 3 candidates available = 33 % < 50 %.
  const result = selectEligible(all, 50);
  assert.deepEqual(ids(result.eligible), ['a', 'b', 'c']);
  assert.equal(result.isPanic, true);
});

test('at exactly the panic threshold there is no panic', () => {
  const result = selectEligible([b('a'), b('b', { isHealthy: false })], 50);
  assert.equal(result.isPanic, false);
  assert.deepEqual(ids(result.eligible), ['a']);
});

test('a panic threshold of 0 never panics, even with nothing healthy', () => {
  const result = selectEligible([b('a', { isHealthy: false })], 0);
  assert.deepEqual(result, { eligible: [], isPanic: false });
});

test('an all-draining pool is empty, not in panic', () => {
  const result = selectEligible([b('a', { isDraining: true })], 50);
  assert.deepEqual(result, { eligible: [], isPanic: false });
});

test('property: isPanic iff the available share is below the threshold; eligible matches the mode', () => {
  const backend = fc.record({
    id: fc.string(),
    isHealthy: fc.boolean(),
    isEjected: fc.boolean(),
    isDraining: fc.boolean(),
    effectiveWeight: fc.constantFrom(0, 0.5, 1, 10),
  });
  fc.assert(
    fc.property(fc.array(backend, { maxLength: 20 }), fc.integer({ min: 0, max: 100 }), (all, threshold) => {
      const { eligible, isPanic } = selectEligible(all, threshold);
      const candidates = all.filter((x) => !x.isDraining && x.effectiveWeight > 0);
      const available = candidates.filter((x) => x.isHealthy && !x.isEjected);
      const expectPanic = threshold > 0 && candidates.length > 0 && 100 * available.length < threshold * candidates.length;
      assert.equal(isPanic, expectPanic);
      assert.deepEqual(eligible, isPanic ? candidates : available);
    }),
  );
});
