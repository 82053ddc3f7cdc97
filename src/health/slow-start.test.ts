import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { slowStartFactor } from './slow-start.ts';

test('ramps linearly from minFactor to 1 over the window', () => {
  assert.equal(slowStartFactor(0, 1000), 0.1);
  assert.ok(Math.abs(slowStartFactor(500, 1000) - 0.55) < 1e-12);
  assert.equal(slowStartFactor(1000, 1000), 1);
  assert.equal(slowStartFactor(5000, 1000), 1);
  assert.equal(slowStartFactor(250, 1000, 0.2), 0.4);
});

test('a window of 0 disables slow start', () => {
  assert.equal(slowStartFactor(0, 0), 1);
});

test('a negative elapsed time (clock skew across reloads) stays at minFactor', () => {
  assert.equal(slowStartFactor(-10, 1000), 0.1);
});

test('minFactor outside (0, 1] is a bug', () => {
  assert.throws(() => slowStartFactor(0, 1000, 0), RangeError);
  assert.throws(() => slowStartFactor(0, 1000, 1.5), RangeError);
});

test('property: factor is in (0, 1] and never decreases with time', () => {
  fc.assert(
    fc.property(
      fc.double({ min: -1e6, max: 1e7, noNaN: true }),
      fc.double({ min: 0, max: 1e6, noNaN: true }),
      fc.double({ min: 0, max: 1e6, noNaN: true }),
      fc.double({ min: 0.001, max: 1, noNaN: true }),
      (since, extra, window, minFactor) => {
        const a = slowStartFactor(since, window, minFactor);
        const b = slowStartFactor(since + extra, window, minFactor);
        assert.ok(a > 0 && a <= 1);
        assert.ok(b >= a);
      },
    ),
  );
});
