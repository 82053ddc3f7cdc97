import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createModelQuality } from './online-quality.ts';

test('model quality: scores the model and both baselines on the same window', () => {
  const quality = createModelQuality(3);
  const empty = quality.report();
  assert.equal(empty.model.count, 0);
  assert.equal(empty.baselines.perStatus.auc, null);
  // a model that knows 503s are retried and 200s are not
  const stream = [
    { status: 503, p: 0.9, y: 1 },
    { status: 200, p: 0.1, y: 0 },
    { status: 503, p: 0.9, y: 1 },
    { status: 200, p: 0.1, y: 0 },
  ] as const;
  for (const { status, p, y } of stream) quality.record({ status }, p, y);
  const { model, baselines } = quality.report();
  assert.equal(model.count, 3);
  assert.equal(model.auc, 1);
  assert.ok(Math.abs(model.brier! - 0.01) < 1e-12);
  // the baselines are scored on what they predicted before learning each event; the window keeps
  // events 2-4. status5xx: 200 -> 1/2 (nothing seen), 503 -> (1 + 1) / (1 + 2) = 2/3,
  // 200 -> (0 + 1) / (1 + 2) = 1/3; Brier = (1/4 + 1/9 + 1/9) / 3.
  assert.ok(Math.abs(baselines.status5xx.brier! - (1 / 4 + 1 / 9 + 1 / 9) / 3) < 1e-12);
  // perStatus (prior weight 2): 200 -> prior 2/3, (0 + 4/3) / 2 = 2/3; 503 -> prior 1/2,
  // (1 + 1) / 3 = 2/3; 200 -> prior 3/5, (0 + 6/5) / 3 = 2/5; Brier = (4/9 + 1/9 + 4/25) / 3.
  assert.ok(Math.abs(baselines.perStatus.brier! - (4 / 9 + 1 / 9 + 4 / 25) / 3) < 1e-12);
  assert.equal(baselines.perStatus.positiveRate, model.positiveRate);
});
