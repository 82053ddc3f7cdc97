// The offline bar: on generate-telemetry data, a model trained on the earlier events and
// evaluated on a held-out later time slice reaches AUC >= 0.95 and ECE <= 0.03, and beats both
// baselines on log loss. Several seeds, so one lucky dataset cannot pass it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { generateTelemetry } from '../../sim/telemetry-generator.ts';
import { evaluate, timeOrderedSplit } from '../../src/model/evaluation.ts';
import { createRetryModel } from '../../src/model/retry-model.ts';

for (const seed of [11, 12, 13]) {
  test(`seed ${seed}: held-out later slice AUC >= 0.95, ECE <= 0.03, better log loss than both baselines`, (t) => {
    const events = generateTelemetry({ seed, clients: 100, durationMs: 40 * 60_000 });
    const split = timeOrderedSplit(events, 0.2);
    const model = createRetryModel();
    for (const e of split.train) model.learn(e, e.retried);
    const report = evaluate((e) => model.predict(e), split);
    const m = report.model;
    const { status5xx, perStatus } = report.baselines;
    const summary = `seed ${seed}: AUC ${m.auc?.toFixed(4)} ECE ${m.ece.toFixed(4)} logloss ${m.logLoss.toFixed(4)} vs status5xx ${status5xx.logLoss.toFixed(4)} perStatus ${perStatus.logLoss.toFixed(4)} on ${report.testEvents} test events`;
    t.diagnostic(summary);
    assert.ok(report.testEvents > 5000, summary);
    assert.ok((m.auc ?? 0) >= 0.95, summary);
    assert.ok(m.ece <= 0.03, summary);
    assert.ok(m.logLoss < status5xx.logLoss, summary);
    assert.ok(m.logLoss < perStatus.logLoss, summary);
  });
}
