import assert from 'node:assert/strict';
import { test } from 'node:test';
import pino from 'pino';
import { ManualClock } from '../core/clock.ts';
import { createSeededRng } from '../core/rng.ts';
import { validateDocument } from '../config/load.ts';
import type { RolloutConfig } from '../config/schema.ts';
import { createMetrics } from '../metrics/catalogue.ts';
import { ExperimentController } from './experiment-controller.ts';
import { RolloutController } from './rollout-controller.ts';
import { createMemoryStore, type StateStore } from './state-file.ts';
import { TrafficControl } from './traffic-control.ts';

function rolloutConfig(extra: Record<string, unknown> = {}): RolloutConfig {
  const result = validateDocument(
    {
      backends: [{ name: 'a', address: '127.0.0.1:9001' }],
      pools: [{ name: 'v2', backends: [{ name: 'b', address: '127.0.0.1:9002' }] }],
      rollouts: [{ name: 'r', stable: 'default', canary: 'v2', steps: [20, 50, 100], step_duration: '60s', analysis_interval: '10s', min_samples: 10, ...extra }],
    },
    {},
  );
  if (!result.ok) assert.fail(JSON.stringify(result.problems));
  return result.config.rollouts[0] as RolloutConfig;
}

function harness(store: StateStore, clock = new ManualClock()) {
  const metrics = createMetrics({ collectProcessMetrics: false });
  const deps = { clock, rng: createSeededRng(1), metrics, logger: pino({ level: 'silent' }) };
  const traffic = new TrafficControl(metrics, deps.rng, new ExperimentController(deps, createMemoryStore()));
  const controller = new RolloutController(deps, traffic, store);
  /** One analysis interval with `n` canary and stable requests, `failures` of the canary's failing. */
  const interval = (n: number, failures = 0): void => {
    for (let i = 0; i < n; i++) {
      controller.recordOutcome('v2', { status: i < failures ? 500 : 200, errorKind: 'none', latencyMs: 20 });
      controller.recordOutcome('default', { status: 200, errorKind: 'none', latencyMs: 20 });
    }
    clock.advance(10_000);
  };
  return { controller, traffic, clock, interval, metrics };
}

test('the controller drives steps on its clock and sets the data path\'s diversion', () => {
  const { controller, traffic, interval } = harness(createMemoryStore());
  controller.configure([rolloutConfig()]);
  controller.start();
  assert.deepEqual(traffic.diversions.get('default'), { canary: 'v2', share: 0.2 });
  for (let i = 0; i < 6; i++) interval(20);
  assert.equal(controller.find('r')?.step, 2);
  assert.deepEqual(traffic.diversions.get('default'), { canary: 'v2', share: 0.5 });
  interval(20, 5);
  const view = controller.find('r');
  assert.equal(view?.phase, 'rolled_back');
  assert.match(view?.reason ?? '', /canary error rate 25 % > 1 %/);
  assert.equal(traffic.diversions.size, 0, 'after a rollback the stable pool gets everything');
  assert.deepEqual(view?.events.map((e) => e.type).reverse(), ['started', 'step', 'rolled_back']);
});

test('a restart in the middle of a step resumes at that step with the time already held', () => {
  const store = createMemoryStore();
  const first = harness(store);
  first.controller.configure([rolloutConfig()]);
  first.controller.start();
  for (let i = 0; i < 6; i++) first.interval(20);
  for (let i = 0; i < 4; i++) first.interval(20);
  assert.equal(first.controller.find('r')?.step, 2);
  assert.equal(first.controller.find('r')?.heldMs, 40_000);
  void first.controller.stop();

  // a new process: another clock origin, the same persisted state
  const second = harness(createMemoryStore(store.data), new ManualClock(123_456));
  second.controller.configure([rolloutConfig()]);
  second.controller.start();
  const restored = second.controller.find('r');
  assert.equal(restored?.step, 2);
  assert.equal(restored?.heldMs, 40_000);
  assert.deepEqual(restored?.events.map((e) => e.type), ['restored']);
  assert.deepEqual(second.traffic.diversions.get('default'), { canary: 'v2', share: 0.5 });
  second.interval(20);
  assert.equal(second.controller.find('r')?.step, 2, '50 s held of 60 s');
  second.interval(20);
  assert.equal(second.controller.find('r')?.step, 3, 'the step ends 20 s after the restart, not 60 s');
});

test('a changed spec starts afresh; an unchanged one keeps its state across reloads', () => {
  const store = createMemoryStore();
  const { controller, interval } = harness(store);
  controller.configure([rolloutConfig()]);
  controller.start();
  for (let i = 0; i < 6; i++) interval(20);
  controller.configure([rolloutConfig({ max_error_rate: 5 })]);
  assert.equal(controller.find('r')?.step, 2, 'limits changed: same rollout');
  controller.configure([rolloutConfig({ steps: [30, 100] })]);
  assert.equal(controller.find('r')?.step, 1, 'steps changed: a new rollout');
  assert.equal(controller.find('r')?.canaryPercent, 30);
  controller.configure([]);
  assert.deepEqual(controller.views(), []);
});

test('operator commands: pause holds the step, resume continues, abort ends it; conflicts are refused', () => {
  const { controller, traffic, interval } = harness(createMemoryStore());
  controller.configure([rolloutConfig()]);
  controller.start();
  interval(20);
  assert.equal(controller.command('r', 'pause').ok, true);
  for (let i = 0; i < 10; i++) interval(20);
  assert.equal(controller.find('r')?.step, 1, 'paused: no progress');
  assert.deepEqual(traffic.diversions.get('default'), { canary: 'v2', share: 0.2 }, 'paused keeps its share');
  const again = controller.command('r', 'pause');
  assert.deepEqual(again, { ok: false, reason: 'invalid-transition', message: 'cannot pause a rollout that is paused' });
  assert.equal(controller.command('r', 'resume').ok, true);
  for (let i = 0; i < 5; i++) interval(20);
  assert.equal(controller.find('r')?.step, 2, 'held 10 s before the pause and 50 s after');
  assert.equal(controller.command('r', 'abort').ok, true);
  assert.equal(traffic.diversions.size, 0);
  assert.equal(controller.command('nope', 'abort').ok, false);
});
