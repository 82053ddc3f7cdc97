import assert from 'node:assert/strict';
import { test } from 'node:test';
import pino from 'pino';
import { ManualClock } from '../core/clock.ts';
import { createSeededRng } from '../core/rng.ts';
import { validateDocument } from '../config/load.ts';
import { createMetrics } from '../metrics/catalogue.ts';
import { createRetryModel, type RetryModel } from '../model/retry-model.ts';
import { syntheticEvents } from '../model/test-kit.ts';
import type { LabelledEvent } from '../telemetry/attempt-event.ts';
import { ModelCandidate } from './model-candidate.ts';

function config(rollout: Record<string, unknown>) {
  const result = validateDocument({ backends: [{ address: '127.0.0.1:9001' }], model_rollout: { candidate_path: 'c.json', min_samples: 500, ...rollout }, model: { quality_window: 2000 } }, {});
  if (!result.ok) assert.fail(JSON.stringify(result.problems));
  return result.config;
}

function trained(events: number): RetryModel {
  const model = createRetryModel({ hashBits: 14 });
  for (const e of syntheticEvents(7, events)) model.learn(e.input, e.retried);
  return model;
}

/** Feeds labelled events whose `prediction` is the live model's, as the runtime does. */
function feed(candidate: ModelCandidate, live: RetryModel, n: number): ('promote' | 'rollback' | undefined)[] {
  const verdicts: ('promote' | 'rollback' | undefined)[] = [];
  for (const [i, e] of syntheticEvents(11, n).entries()) {
    const p = live.predict(e.input);
    candidate.observe({ ...e.input, status: e.input.status, attempt: e.input.attempt ?? 1 }, p);
    candidate.enqueue({ ...e.input, prediction: p, retried: e.retried } as unknown as LabelledEvent);
    if (i % 100 === 99) verdicts.push(candidate.learnNow());
  }
  return verdicts;
}

const deps = () => ({ clock: new ManualClock(), rng: createSeededRng(3), metrics: createMetrics({ collectProcessMetrics: false }), logger: pino({ level: 'silent' }) });

test('a better canary candidate is promoted once both are scored on min_samples labels', () => {
  const live = createRetryModel({ hashBits: 14 }); // untrained: log loss ln 2
  const candidate = new ModelCandidate(trained(20_000), 'c.json', config({ mode: 'canary' }), deps());
  const verdicts = feed(candidate, live, 2000);
  assert.equal(verdicts.indexOf('promote'), 4, 'judged at the first check with 500 labels, not before');
  assert.equal(candidate.state, 'promoted');
  const report = candidate.report();
  assert.ok((report.quality.candidate.logLoss ?? 1) < (report.quality.live.logLoss ?? 0));
  assert.ok(report.disagreements > 0 && report.samples.length > 0, 'an untrained and a trained model disagree');
});

test('a worse canary candidate is rolled back; a shadow is only reported', () => {
  const live = trained(20_000);
  const worse = new ModelCandidate(createRetryModel({ hashBits: 14, alpha: 0.0001 }), 'c.json', config({ mode: 'canary' }), deps());
  assert.ok(feed(worse, live, 1000).includes('rollback'));
  assert.equal(worse.state, 'rolled_back');
  const shadow = new ModelCandidate(createRetryModel({ hashBits: 14, alpha: 0.0001 }), 'c.json', config({ mode: 'shadow' }), deps());
  assert.deepEqual(new Set(feed(shadow, live, 1000)), new Set([undefined]));
  assert.equal(shadow.state, 'shadow');
  assert.equal(shadow.report().scored, 1000);
});

test('a canary makes its share of the predictions Sibyl acts on; a shadow makes none', () => {
  const input = syntheticEvents(1, 1)[0]?.input;
  assert.ok(input !== undefined);
  const canary = new ModelCandidate(trained(2000), 'c.json', config({ mode: 'canary', canary_percent: 25 }), deps());
  let fromCandidate = 0;
  for (let i = 0; i < 4000; i++) if (canary.choose(input, -1) !== -1) fromCandidate++;
  assert.ok(Math.abs(fromCandidate / 4000 - 0.25) < 0.03, `${fromCandidate} of 4000`);
  const shadow = new ModelCandidate(trained(2000), 'c.json', config({ mode: 'shadow' }), deps());
  assert.equal(shadow.choose(input, -1), -1);
});

test('a window without retried labels never judges a canary, however many labels it holds', () => {
  const live = createRetryModel({ hashBits: 14 }); // untrained: a trained candidate beats it on log loss
  const candidate = new ModelCandidate(trained(20_000), 'c.json', config({ mode: 'canary', min_positive_labels: 20 }), deps());
  const onlyZeros = syntheticEvents(11, 3000).filter((e) => e.retried === 0);
  for (const [i, e] of onlyZeros.entries()) {
    const p = live.predict(e.input);
    candidate.enqueue({ ...e.input, prediction: p, retried: 0 } as unknown as LabelledEvent);
    if (i % 100 === 99) assert.equal(candidate.learnNow(), undefined, `judged on ${i + 1} labels of one class`);
  }
  assert.equal(candidate.state, 'canary');
  assert.equal(candidate.report().retriedLabels, 0);
  // once both classes are there, it is judged
  assert.ok(feed(candidate, live, 2000).includes('promote'));
});
