// The model learns what a status table cannot: on synthetic traffic where two client families
// answer the same responses differently (test-kit.ts), progressive validation (predict, then learn)
// over the first 20k events must show a useful ranking and beat both baselines.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createModelQuality } from './online-quality.ts';
import { createRetryModel } from './retry-model.ts';
import { syntheticEvents } from './test-kit.ts';

test('learning: progressive AUC > 0.9 within 20k events, and lower log loss than both baselines', () => {
  const model = createRetryModel();
  const quality = createModelQuality(10_000);
  for (const { input, retried } of syntheticEvents(2024, 20_000)) {
    quality.record(input, model.learn(input, retried), retried);
  }
  const report = quality.report();
  const { model: m, baselines } = report;
  assert.equal(m.count, 10_000);
  assert.ok(m.auc !== null && m.auc > 0.9, `model AUC ${m.auc}`);
  assert.ok(m.logLoss! < baselines.perStatus.logLoss! * 0.6, `model log loss ${m.logLoss} vs per-status ${baselines.perStatus.logLoss}`);
  assert.ok(m.logLoss! < baselines.status5xx.logLoss!);
  assert.ok(m.brier! < baselines.perStatus.brier!);
  assert.ok(m.ece! < 0.03, `model ECE ${m.ece}`);
  // the baselines rank by status alone, blind to which client family will retry
  assert.ok(baselines.perStatus.auc! < m.auc - 0.05, `per-status AUC ${baselines.perStatus.auc}`);
  // all three are scored on the same labels
  assert.equal(baselines.perStatus.positiveRate, m.positiveRate);
  assert.equal(baselines.status5xx.count, m.count);
});

test('learning: the model keeps up when one client family changes behaviour', () => {
  const model = createRetryModel();
  const before = syntheticEvents(7, 10_000);
  for (const { input, retried } of before) model.learn(input, retried);
  const failure = { status: 503, errorKind: 'none' as const, attempt: 1, method: 'GET', route: '/api/orders', userAgentFamily: 'okhttp' };
  const pBefore = model.predict(failure);
  assert.ok(pBefore > 0.7, `okhttp 503 predicted ${pBefore}`);
  // okhttp stops retrying 503s altogether (e.g. a client release honours Retry-After); about a
  // third of the events are failures, the only ones a model of retries learns from
  for (const { input, retried } of syntheticEvents(8, 20_000)) {
    model.learn(input, input.userAgentFamily === 'okhttp' && input.status === 503 ? 0 : retried);
  }
  assert.ok(model.predict(failure) < 0.2, `okhttp 503 after the change ${model.predict(failure)}`);
  // ...while its retries of other failures are still expected
  assert.ok(model.predict({ ...failure, status: 500 }) > 0.6, `okhttp 500 ${model.predict({ ...failure, status: 500 })}`);
});
