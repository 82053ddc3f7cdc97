import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createPerStatusBaseline, createStatusAbove500Baseline } from './baselines.ts';

test('status5xx baseline: Laplace-smoothed rate per side of the line, predict then learn', () => {
  const baseline = createStatusAbove500Baseline();
  assert.equal(baseline.predict({ status: 503 }), 0.5);
  // learn returns the prediction made before learning
  assert.equal(baseline.learn({ status: 503 }, 1), 0.5);
  baseline.learn({ status: 500 }, 1);
  baseline.learn({ status: 502 }, 0);
  // failures: (2 + 1) / (3 + 2)
  assert.equal(baseline.predict({ status: 504 }), 3 / 5);
  // a transport error counts as a failure whatever the status
  assert.equal(baseline.predict({ status: 0, errorKind: 'reset' }), 3 / 5);
  assert.equal(baseline.predict({ status: 200, errorKind: 'timeout' }), 3 / 5);
  // the other side has seen nothing yet
  assert.equal(baseline.predict({ status: 200, errorKind: 'none' }), 0.5);
  baseline.learn({ status: 200 }, 0);
  assert.equal(baseline.predict({ status: 404 }), 1 / 3);
});

test('perStatus baseline: exact status, smoothed towards the global rate', () => {
  const baseline = createPerStatusBaseline();
  assert.equal(baseline.predict({ status: 503 }), 0.5);
  for (let i = 0; i < 3; i++) baseline.learn({ status: 503 }, 1);
  baseline.learn({ status: 200 }, 0);
  // global prior (3 + 1) / (4 + 2) = 2/3; 503: (3 + 2 * 2/3) / (3 + 2) = 13/15
  assert.ok(Math.abs(baseline.predict({ status: 503 }) - 13 / 15) < 1e-12);
  // 200: (0 + 4/3) / (1 + 2) = 4/9
  assert.ok(Math.abs(baseline.predict({ status: 200 }) - 4 / 9) < 1e-12);
  // an unseen status gets the prior
  assert.ok(Math.abs(baseline.predict({ status: 429 }) - 2 / 3) < 1e-12);
  // statuses out of range share one slot instead of throwing
  baseline.learn({ status: 1234 }, 1);
  assert.ok(Number.isFinite(baseline.predict({ status: -1 })));
  assert.equal(baseline.predict({ status: Number.NaN }), baseline.predict({ status: 1234 }));
});
