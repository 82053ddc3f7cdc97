import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createFamilyCalibration } from './family-calibration.ts';

test('mean prediction and observed retry rate of failures, per client family, most failures first', () => {
  const c = createFamilyCalibration();
  for (let i = 0; i < 10; i++) c.record('okhttp', 0.9, i < 8 ? 1 : 0);
  for (let i = 0; i < 4; i++) c.record('python', 0.05, 0);
  const [okhttp, python] = c.report();
  assert.deepEqual([okhttp?.family, okhttp?.failures, okhttp?.retryRate], ['okhttp', 10, 0.8]);
  assert.ok(Math.abs((okhttp?.meanPrediction ?? 0) - 0.9) < 1e-9);
  assert.deepEqual([python?.family, python?.retryRate], ['python', 0]);
});

test('recent labels weigh more: old behaviour fades once a family has many labels', () => {
  const c = createFamilyCalibration();
  for (let i = 0; i < 5000; i++) c.record('go', 0.5, 1);
  for (let i = 0; i < 5000; i++) c.record('go', 0.5, 0);
  const rate = c.report()[0]?.retryRate ?? 1;
  assert.ok(rate < 0.05, `the client stopped retrying: ${rate}`);
});
