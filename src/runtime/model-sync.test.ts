// The retry model shared across instances, on a memory store: two models that learn from different
// traffic end up predicting alike after a merge round, close to one model that saw everything.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManualClock } from '../core/clock.ts';
import type { FeatureInput } from '../model/features.ts';
import { ModelMerge } from '../model/model-merge.ts';
import { createRetryModel, type RetryModel } from '../model/retry-model.ts';
import { syntheticEvents } from '../model/test-kit.ts';
import { createMemorySharedState } from '../shared/memory-shared-state.ts';
import type { SharedState } from '../shared/shared-state.ts';

const INPUTS: FeatureInput[] = [
  { status: 503, attempt: 1, userAgentFamily: 'okhttp' },
  { status: 503, attempt: 1, userAgentFamily: 'browser' },
  { status: 504, errorKind: 'timeout', attempt: 1, userAgentFamily: 'browser', latencyMs: 8000 },
  { status: 200, attempt: 1, userAgentFamily: 'okhttp' },
];

async function sync(store: SharedState, merge: ModelMerge): Promise<void> {
  let global = await store.pushModel({ key: 'm', mode: 'changes', coordinates: merge.takeChanges() });
  global ??= await store.pushModel({ key: 'm', mode: 'init', coordinates: merge.everything() });
  merge.applyGlobal(global!);
}

const maxGap = (a: RetryModel, b: RetryModel) => Math.max(...INPUTS.map((x) => Math.abs(a.predict(x) - b.predict(x))));

test('two instances learning apart predict alike after a merge round, close to one model that saw it all', async () => {
  const store = createMemorySharedState(new ManualClock());
  const [a, b, all] = [createRetryModel({ hashBits: 12 }), createRetryModel({ hashBits: 12 }), createRetryModel({ hashBits: 12 })];
  const [mergeA, mergeB] = [new ModelMerge(a), new ModelMerge(b)];
  const events = syntheticEvents(7, 6000);
  // 100 events between merges (at the default 5 s per merge: 20 labelled events/s per instance). Much longer
  // rounds drift further from one model that saw everything: each instance learns on stale weights.
  for (let round = 0; round < 60; round++) {
    const slice = events.slice(round * 100, (round + 1) * 100);
    // instance a sees only okhttp clients, instance b only browsers
    for (const e of slice) {
      (e.input.userAgentFamily === 'okhttp' ? a : b).learn(e.input, e.retried);
      all.learn(e.input, e.retried);
    }
    await sync(store, mergeA);
    await sync(store, mergeB);
  }
  assert.ok(maxGap(a, b) > 1e-6, `before a's last merge the two differ by what b learned last (${maxGap(a, b)})`);
  await sync(store, mergeA);
  assert.ok(maxGap(a, b) < 1e-9, `after one round both hold the global model (${maxGap(a, b)})`);
  assert.ok(maxGap(a, all) < 0.05, `the merged model is close to one that saw everything (${maxGap(a, all)})`);
  // a alone never saw a browser: it learned about them only through the merge
  const browserTimeout = INPUTS[2]!;
  assert.ok(a.predict(browserTimeout) > 0.4, `browser timeouts are retried (${a.predict(browserTimeout)})`);
});

test('learning that happens while a merge is on its way is kept, and a lost store is re-initialised', async () => {
  const store = createMemorySharedState(new ManualClock());
  const a = createRetryModel({ hashBits: 12 });
  const merge = new ModelMerge(a);
  const events = syntheticEvents(3, 2000);
  for (const e of events.slice(0, 1000)) a.learn(e.input, e.retried);
  await sync(store, merge);
  const changes = merge.takeChanges();
  for (const e of events.slice(1000)) a.learn(e.input, e.retried); // while the answer is on its way
  const reference = createRetryModel({ hashBits: 12 });
  for (const e of events) reference.learn(e.input, e.retried);
  merge.applyGlobal((await store.pushModel({ key: 'm', mode: 'changes', coordinates: changes }))!);
  assert.ok(maxGap(a, reference) < 1e-9, 'nothing learned was lost');
  // the store loses its data (a Redis restart): the model is pushed whole and nothing is forgotten
  const fresh = createMemorySharedState(new ManualClock());
  await sync(fresh, merge);
  assert.ok(maxGap(a, reference) < 1e-9, 'the model survives a store that lost its data');
  store.isReachable = false;
  await assert.rejects(store.pushModel({ key: 'm', mode: 'changes', coordinates: merge.takeChanges() }));
  merge.keepChanges();
});
