import assert from 'node:assert/strict';
import { test } from 'node:test';
import { analyse, canaryPercent, command, initialState, parseState, tick, type RolloutSpec, type RolloutState, type Verdict } from './rollout.ts';
import { WindowStats } from './window-stats.ts';

const spec: RolloutSpec = {
  name: 'r', stable: 's', canary: 'c', steps: [10, 50, 100], stepDurationMs: 60_000, analysisIntervalMs: 10_000,
  maxErrorRate: 1, maxP99Ms: 500, maxErrorRateIncrease: undefined, minSamples: 100, autoStart: true,
};
const window = (requests: number, failures: number, p99Ms = 50) => ({ requests, failures, p99Ms });
const pass: Verdict = analyse(spec, window(200, 0), window(2000, 0));
const low: Verdict = analyse(spec, window(99, 0), window(2000, 0));

/** Runs analysis intervals of 10 s with one verdict until the phase or step changes. */
function run(state: RolloutState, verdict: Verdict, intervals: number): RolloutState {
  let s = state;
  for (let i = 0; i < intervals; i++) s = tick(spec, s, 10_000, verdict).state;
  return s;
}

test('analysis: error rate and p99 against the limits, stable comparison, minimum samples', () => {
  assert.equal(pass.verdict, 'pass');
  assert.equal(analyse(spec, window(200, 2), window(0, 0)).verdict, 'pass', '1 % is not above 1 %');
  const errors = analyse(spec, window(200, 3), window(2000, 0));
  assert.equal(errors.verdict, 'fail');
  assert.deepEqual(errors.verdict === 'fail' ? errors.reasons : [], ['canary error rate 1.5 % > 1 %']);
  const slow = analyse(spec, window(200, 0, 501), window(2000, 0));
  assert.deepEqual(slow.verdict === 'fail' ? slow.reasons : [], ['canary p99 501 ms > 500 ms']);
  assert.equal(low.verdict, 'inconclusive', 'below min_samples nothing is judged, even failures');
  assert.equal(analyse(spec, window(99, 99), window(0, 0)).verdict, 'inconclusive');
  const relative = { ...spec, maxErrorRate: 50, maxErrorRateIncrease: 2 };
  assert.equal(analyse(relative, window(200, 10), window(1000, 40)).verdict, 'pass', '5 % vs 4 %: +1 point');
  assert.equal(analyse(relative, window(200, 14), window(1000, 40)).verdict, 'fail', '7 % vs 4 %: +3 points');
});

test('a healthy canary goes through every step after its duration, then is promoted', () => {
  const start = initialState(spec);
  assert.deepEqual(start.events.map((e) => e.type), ['started']);
  let s = start.state;
  assert.equal(canaryPercent(spec, s), 10);
  s = run(s, pass, 5);
  assert.equal(s.stepIndex, 0, '50 s of a 60 s step: still step 1');
  const t = tick(spec, s, 10_000, pass);
  assert.deepEqual(t.events, [{ type: 'step', canaryPercent: 50, detail: 'step 2 of 3' }]);
  s = run(t.state, pass, 6);
  assert.equal(canaryPercent(spec, s), 100);
  const last = tick(spec, run(s, pass, 5), 10_000, pass);
  assert.deepEqual(last.events, [{ type: 'promoted', canaryPercent: 100 }]);
  assert.equal(last.state.phase, 'promoted');
  assert.equal(tick(spec, last.state, 10_000, pass).events.length, 0, 'a finished rollout stays finished');
});

test('a failed analysis rolls back at once, from any step', () => {
  const s = run(initialState(spec).state, pass, 8);
  assert.equal(s.stepIndex, 1);
  const fail = analyse(spec, window(200, 50), window(2000, 0));
  const t = tick(spec, s, 10_000, fail);
  assert.equal(t.state.phase, 'rolled_back');
  assert.equal(canaryPercent(spec, t.state), 0);
  assert.deepEqual(t.events, [{ type: 'rolled_back', canaryPercent: 0, detail: 'canary error rate 25 % > 1 %' }]);
});

test('low traffic never passes: a step held without a passing analysis does not advance', () => {
  const s = run(initialState(spec).state, low, 100);
  assert.equal(s.stepIndex, 0);
  assert.equal(s.phase, 'progressing');
  assert.equal(tick(spec, s, 10_000, pass).state.stepIndex, 1, 'one passing analysis after the duration completes the step');
});

test('pause stops the clock of the step; resume, promote and abort; nonsense commands are refused', () => {
  const s = run(initialState(spec).state, pass, 3);
  const paused = command(spec, s, 'pause');
  assert.equal(paused?.state.phase, 'paused');
  assert.equal(canaryPercent(spec, paused?.state ?? s), 10, 'paused keeps the current share');
  assert.equal(tick(spec, paused?.state ?? s, 600_000, pass).state, paused?.state, 'no time passes while paused');
  assert.equal(command(spec, paused?.state ?? s, 'pause'), undefined);
  const resumed = command(spec, paused?.state ?? s, 'resume');
  assert.deepEqual(resumed?.events.map((e) => e.type), ['resumed']);
  assert.equal(resumed?.state.heldMs, 30_000);
  assert.equal(command(spec, s, 'promote')?.state.phase, 'promoted');
  const aborted = command(spec, s, 'abort');
  assert.equal(aborted?.state.phase, 'aborted');
  assert.equal(canaryPercent(spec, aborted?.state ?? s), 0);
  assert.equal(command(spec, aborted?.state ?? s, 'resume'), undefined, 'an aborted rollout needs a new config to start again');
  const pending = initialState({ ...spec, autoStart: false });
  assert.equal(pending.state.phase, 'pending');
  assert.equal(canaryPercent(spec, pending.state), 0);
  assert.deepEqual(command(spec, pending.state, 'resume')?.events.map((e) => e.type), ['started']);
});

test('a persisted state is read back only when it fits the spec', () => {
  const s: RolloutState = { phase: 'paused', stepIndex: 2, heldMs: 1234, passedInStep: 1 };
  assert.deepEqual(parseState(spec, JSON.parse(JSON.stringify(s))), { ...s, reason: undefined });
  assert.equal(parseState(spec, { ...s, stepIndex: 3 }), undefined);
  assert.equal(parseState(spec, { ...s, phase: 'flying' }), undefined);
  assert.equal(parseState(spec, null), undefined);
});

test('window statistics: failures and a p99 within one 5 % bucket', () => {
  const w = new WindowStats();
  for (let i = 1; i <= 1000; i++) w.record(i, i % 100 === 0);
  const s = w.summary();
  assert.equal(s.requests, 1000);
  assert.equal(s.failures, 10);
  assert.ok(s.p99Ms >= 990 && s.p99Ms <= 990 * 1.05, `p99 ${s.p99Ms}`);
  w.reset();
  assert.deepEqual(w.summary(), { requests: 0, failures: 0, p99Ms: 0 });
});
