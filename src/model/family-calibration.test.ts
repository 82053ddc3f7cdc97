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

test('the recent mean follows what the model predicts now; the mean keeps its cold start', () => {
  const c = createFamilyCalibration();
  for (let i = 0; i < 10; i++) c.record('python', 0.4, 0);
  for (let i = 0; i < 60; i++) c.record('python', 0.01, 0);
  const [python] = c.report();
  assert.ok(Math.abs((python?.meanPrediction ?? 0) - (10 * 0.4 + 60 * 0.01) / 70) < 1e-9);
  // 60 failures at 0.01 after 10 at 0.4: the recent mean is near 0.01, the mean still 0.064
  const recent = python?.recentMeanPrediction ?? 1;
  assert.ok(recent < 0.03 && recent < (python?.meanPrediction ?? 0) / 2, `recent: ${recent}`);
});
