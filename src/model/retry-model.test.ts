import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FEATURE_SPEC, featureSpecHash } from './features.ts';
import type { FeatureInput } from './features.ts';
import { ModelSnapshotError } from './model-snapshot.ts';
import { createRetryModel, parseModelSnapshot, RETRY_MODEL_DEFAULTS } from './retry-model.ts';
import type { ModelSnapshot } from './retry-model.ts';
import { syntheticEvents } from './test-kit.ts';

const META = { createdAtMs: Date.UTC(2025, 0, 2, 3, 4, 5), trainingWindow: { fromMs: 1000, toMs: 2000, events: 500 } };

function trained(count = 500, seed = 1): ReturnType<typeof createRetryModel> {
  const model = createRetryModel({ hashBits: 12 });
  for (const e of syntheticEvents(seed, count)) model.learn(e.input, e.retried);
  return model;
}

test('retry model: a fresh model predicts 0.5 and learn returns the prediction made before learning', () => {
  const model = createRetryModel();
  assert.equal(model.hashBits, RETRY_MODEL_DEFAULTS.hashBits);
  assert.equal(model.updates, 0);
  const input: FeatureInput = { status: 503, attempt: 1, userAgentFamily: 'okhttp' };
  assert.equal(model.predict(input), 0.5);
  assert.equal(model.learn(input, 1), 0.5);
  assert.equal(model.updates, 1);
  // l1 = 1: one example cannot move a coordinate off 0
  assert.equal(model.predict(input), 0.5);
  for (let i = 0; i < 20; i++) model.learn(input, 1);
  assert.ok(model.predict(input) > 0.6);
  assert.ok(model.predict({ status: 500 }) > 0.5, 'the shared bias learned too');
  assert.equal(model.predict({ status: 200 }), 0, 'a success is never retried, by the definition of the label');
  assert.equal(model.predict({ status: 404, retryMarker: false }), 0);
  assert.ok(model.predict({ status: 400, retryMarker: true }) > 0, 'an SDK that numbers its attempts may retry a 400 (throttling)');
  const updates = model.updates;
  model.learn({ status: 200 }, 0);
  assert.equal(model.updates, updates, 'a success teaches nothing');
});

test('retry model: never NaN, even on garbage input', () => {
  const model = trained();
  const garbage = { status: Number.NaN, latencyMs: Infinity, attempt: -3, clientRetryRate: Number.NaN, clientLabelCount: 1e308, backendInFlight: -Infinity } as FeatureInput;
  const p = model.predict(garbage);
  assert.ok(p >= 0 && p < 1);
  assert.ok(Number.isFinite(model.learn(garbage, 0)));
  const failing = { ...garbage, errorKind: 'timeout' } as FeatureInput;
  const q = model.predict(failing);
  assert.ok(q > 0 && q < 1, `a garbage failure ${q}`);
  assert.ok(Number.isFinite(model.learn(failing, 1)));
});

test('retry model: version names the training stream', () => {
  const a = trained(300, 1);
  const b = trained(300, 1);
  const c = trained(300, 2);
  // only the failures among the 300 events teach the model (a success is never retried)
  const failures = syntheticEvents(1, 300).filter((e) => e.input.status >= 429).length;
  assert.match(a.version, new RegExp(`^m-${failures}-[0-9a-f]{8}$`));
  assert.equal(a.version, b.version);
  assert.notEqual(a.version, c.version);
  const before = a.version;
  a.learn({ status: 500 }, 0);
  assert.match(a.version, new RegExp(`^m-${failures + 1}-`));
  assert.notEqual(a.version, before);
});

test('retry model: snapshot -> JSON -> parse -> load predicts exactly the same, then keeps learning alike', () => {
  const model = trained();
  const snapshot = model.snapshot({ ...META, quality: { auc: 0.9 } });
  assert.equal(snapshot.format, 'sibyl-retry-model');
  assert.equal(snapshot.createdAtIso, '2025-01-02T03:04:05.000Z');
  assert.equal(snapshot.featureSpecHash, featureSpecHash(12));
  assert.equal(snapshot.version, model.version);
  assert.ok(snapshot.coordinates.length > 10 && snapshot.coordinates.every(([, , n]) => n > 0));
  const loaded = createRetryModel({}, parseModelSnapshot(JSON.parse(JSON.stringify(snapshot))));
  assert.equal(loaded.version, model.version);
  assert.equal(loaded.updates, model.updates);
  assert.equal(loaded.hashBits, 12);
  assert.deepEqual(loaded.params, model.params);
  for (const e of syntheticEvents(9, 200)) {
    assert.equal(loaded.predict(e.input), model.predict(e.input));
    assert.equal(loaded.learn(e.input, e.retried), model.learn(e.input, e.retried));
  }
  assert.equal(loaded.version, model.version);
});

test('retry model: a snapshot for other hashBits or another feature spec is refused, saying what to do', () => {
  const snapshot = trained().snapshot(META);
  assert.throws(
    () => createRetryModel({ hashBits: 14 }, snapshot),
    (error: unknown) =>
      error instanceof ModelSnapshotError &&
      error.code === 'SIBYL_ERR_MODEL_SNAPSHOT_MISMATCH' &&
      /trained with hashBits 12 but the model is configured with hashBits 14/.test(error.message) &&
      /sibyl train/.test(error.message),
  );
  const otherSpec: ModelSnapshot = { ...snapshot, featureSpecVersion: 0, featureSpecHash: '0123456789abcdef' };
  assert.throws(
    () => createRetryModel({}, otherSpec),
    (error: unknown) =>
      error instanceof ModelSnapshotError &&
      /feature spec version 0 \(hash 0123456789abcdef\)/.test(error.message) &&
      error.message.includes(`feature spec version ${FEATURE_SPEC.version} (hash ${featureSpecHash(12)})`) &&
      /Retrain with `sibyl train`/.test(error.message),
  );
});

test('parseModelSnapshot: lists every problem, with its path', () => {
  const good = JSON.parse(JSON.stringify(trained(50).snapshot(META))) as Record<string, unknown>;
  assert.doesNotThrow(() => parseModelSnapshot(good));
  assert.throws(() => parseModelSnapshot(null), /expected a JSON object/);
  assert.throws(() => parseModelSnapshot({ ...good, format: 'onnx' }), /not a retry model snapshot/);
  assert.throws(() => parseModelSnapshot({ ...good, formatVersion: 2 }), /formatVersion 2 is not supported/);
  const bad = { ...good, hashBits: 40, params: { alpha: 0, beta: 1, l1: -1, l2: 1 }, trainingWindow: { fromMs: 'x', toMs: 1, events: 1.5 }, version: '' };
  assert.throws(
    () => parseModelSnapshot(bad),
    (error: unknown) => {
      assert.ok(error instanceof ModelSnapshotError);
      assert.equal(error.code, 'SIBYL_ERR_MODEL_SNAPSHOT_INVALID');
      for (const part of ['version must be', 'hashBits must be an integer in [8, 24], got 40', 'params.alpha', 'params.l1', 'trainingWindow.fromMs', 'trainingWindow.events']) {
        assert.ok(error.message.includes(part), `${part} in ${error.message}`);
      }
      return true;
    },
  );
  const coordinates = [[1, 0.5, 2], [1 << 12, 0.1, 1]];
  assert.throws(() => parseModelSnapshot({ ...good, coordinates }), /coordinates\[1\]\[0\] must be an integer index in \[0, 2\^12\)/);
  assert.throws(() => parseModelSnapshot({ ...good, coordinates: [[1, 0.5, 0]] }), /coordinates\[0\]\[2\] \(n\) must be a finite number > 0/);
});

test('retry model: invalid options are refused at creation', () => {
  assert.throws(() => createRetryModel({ hashBits: 30 }), /hashBits must be an integer in \[8, 24\]/);
  assert.throws(() => createRetryModel({ alpha: 0 }), /options.alpha must be a finite number > 0/);
  assert.throws(() => createRetryModel({ l2: Number.NaN }), /options.l2/);
});
