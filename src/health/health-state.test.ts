import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { createHealthState } from './health-state.ts';

test('a healthy backend goes down only after unhealthyThreshold consecutive failures', () => {
  const state = createHealthState({ healthyThreshold: 2, unhealthyThreshold: 3 });
  assert.equal(state.isHealthy, true);
  assert.equal(state.record(false), false);
  assert.equal(state.record(false), false);
  assert.equal(state.isHealthy, true);
  assert.equal(state.record(false), true);
  assert.equal(state.isHealthy, false);
});

test('a success breaks a run of failures', () => {
  const state = createHealthState({ healthyThreshold: 1, unhealthyThreshold: 2 });
  state.record(false);
  state.record(true);
  assert.equal(state.record(false), false);
  assert.equal(state.isHealthy, true);
});

test('an unhealthy backend comes back only after healthyThreshold consecutive successes', () => {
  const state = createHealthState({ healthyThreshold: 2, unhealthyThreshold: 1 }, false);
  assert.equal(state.isHealthy, false);
  assert.equal(state.record(true), false);
  assert.equal(state.record(false), false);
  assert.equal(state.record(true), false);
  assert.equal(state.record(true), true);
  assert.equal(state.isHealthy, true);
});

test('the streak restarts after a flip', () => {
  const state = createHealthState({ healthyThreshold: 2, unhealthyThreshold: 2 });
  state.record(false);
  state.record(false);
  assert.equal(state.isHealthy, false);
  assert.equal(state.record(true), false);
  assert.equal(state.record(true), true);
  assert.equal(state.record(false), false);
  assert.equal(state.isHealthy, true);
});

test('thresholds must be positive integers', () => {
  assert.throws(() => createHealthState({ healthyThreshold: 0, unhealthyThreshold: 1 }), RangeError);
  assert.throws(() => createHealthState({ healthyThreshold: 1, unhealthyThreshold: 1.5 }), RangeError);
});

test('property: a flip always follows exactly a threshold-long run of the opposite result', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 5 }),
      fc.integer({ min: 1, max: 5 }),
      fc.boolean(),
      fc.array(fc.boolean(), { maxLength: 60 }),
      (healthyThreshold, unhealthyThreshold, initiallyHealthy, results) => {
        const state = createHealthState({ healthyThreshold, unhealthyThreshold }, initiallyHealthy);
        let run = 0;
        for (const success of results) {
          const wasHealthy = state.isHealthy;
          run = success === wasHealthy ? 0 : run + 1;
          const changed = state.record(success);
          assert.equal(changed, state.isHealthy !== wasHealthy);
          if (changed) {
            assert.equal(run, wasHealthy ? unhealthyThreshold : healthyThreshold);
            assert.equal(state.isHealthy, success);
            run = 0;
          }
        }
      },
    ),
  );
});
