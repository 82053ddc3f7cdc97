import assert from 'node:assert/strict';
import { test } from 'node:test';
import { POLICIES } from './policies.ts';
import { formatMarkdown, formatSvg, formatTable } from './report.ts';
import { scenario, type ScenarioSpec } from './scenarios.ts';
import { runStorm } from './simulate-storm.ts';

const sum = (series: Float64Array, from: number, to: number): number => series.slice(Math.max(0, from), Math.max(0, to)).reduce((a, b) => a + b, 0);

test('a run is a function of its seed: same seed, identical results; another seed, other results', () => {
  const spec = scenario('metastable', 'small', 7);
  for (const policy of ['round_robin', 'sibyl'] as const) {
    const a = runStorm(spec, policy);
    const b = runStorm(spec, policy);
    assert.deepEqual(a.phases, b.phases);
    assert.deepEqual(a.goodputShareSeries, b.goodputShareSeries);
    assert.equal(a.recoverySeconds, b.recoverySeconds);
    assert.equal(formatTable([a]), formatTable([b]));
  }
  const other = runStorm(scenario('metastable', 'small', 8), 'sibyl');
  assert.notDeepEqual(other.goodputShareSeries, runStorm(spec, 'sibyl').goodputShareSeries);
});

test('metastable at small scale: without defences, goodput stays collapsed after the trigger is gone', () => {
  const run = runStorm(scenario('metastable', 'small', 1), 'round_robin');
  const before = run.phases[0];
  const after = run.phases[2];
  assert.ok(before !== undefined && after !== undefined);
  // healthy before the trigger: the collapse is caused by the trigger, not by the load itself
  assert.ok(before.goodputShare > 0.95, `before: ${before.goodputShare}`);
  assert.ok(after.goodputShare < 0.5, `after: ${after.goodputShare}`);
  assert.ok(after.clientAmplification > 2, `retries sustain it: ${after.clientAmplification} attempts per request`);
  assert.equal(run.recoverySeconds, null);
  // every second to the end, once the requests caught in the trigger (<= 2 s) have finished
  const from = Math.floor(run.triggerEndMs / 1000) + 2;
  for (let s = from; s < Math.floor(run.endMs / 1000); s++) {
    assert.ok((run.goodputShareSeries[s] as number) < 0.5, `second ${s}: goodput ${run.goodputShareSeries[s]} of offered load`);
  }
});

test("sibyl's own retries never exceed the retry budget, even with two of three backends failing", () => {
  // one failing backend is ejected at once; with two, ejection stops at max_ejection_percent and
  // the other keeps answering 503, so only the budget holds the retries back
  const base = scenario('one-bad-backend', 'small', 3);
  const spec: ScenarioSpec = { ...base, trigger: { backendIndices: [0, 1], isFailingFast: true } };
  const { recorder, triggerStartMs, triggerEndMs } = runStorm(spec, 'sibyl');
  const budget = POLICIES.sibyl.retry?.budget;
  assert.ok(budget !== undefined);
  const ttlS = budget.ttlMs / 1000;
  const floorTokens = (seconds: number): number => budget.minRetriesPerSecond * (1 + seconds);
  const during = sum(recorder.proxyRetries, triggerStartMs / 1000, triggerEndMs / 1000);
  assert.ok(during > floorTokens(triggerEndMs / 1000 - triggerStartMs / 1000), `the budget must be what binds here: ${during} retries`);
  for (let s = 0; s < recorder.seconds; s++) {
    // all tokens ever available: ratio x requests so far plus the floor's refills
    const total = sum(recorder.proxyRetries, 0, s + 1);
    assert.ok(total <= budget.ratio * sum(recorder.proxyRequests, 0, s + 1) + floorTokens(s + 1), `second ${s}: ${total} retries`);
    // and deposits expire after ttl: a window's retries use only the deposits of the ttl before it
    const windowed = sum(recorder.proxyRetries, s, s + ttlS);
    const deposits = sum(recorder.proxyRequests, s - ttlS - 1, s + ttlS);
    assert.ok(windowed <= budget.ratio * deposits + floorTokens(ttlS), `window at ${s} s: ${windowed} retries for ${deposits} requests`);
  }
});

test('observed at small scale: sibyl and haproxy-tuned recover from the metastable trigger within 5 s, round_robin never', () => {
  // pinned because it was observed (seeds 1..8), not because it was wanted; see the README
  const spec = scenario('metastable', 'small', 2);
  for (const policy of ['sibyl', 'haproxy-tuned'] as const) {
    const run = runStorm(spec, policy);
    assert.ok(run.recoverySeconds !== null && run.recoverySeconds <= 5, `${policy}: recovered after ${run.recoverySeconds} s`);
    assert.ok((run.phases[2]?.wasteShare ?? 1) < 0.05, `${policy}: waste ${run.phases[2]?.wasteShare}`);
  }
  assert.equal(runStorm(spec, 'round_robin').recoverySeconds, null);
});

test('the report has a row per policy and phase, and the plot a line per policy', () => {
  const spec = scenario('one-bad-backend', 'full', 1);
  const runs = (['round_robin', 'sibyl'] as const).map((p) => runStorm(spec, p));
  const table = formatTable(runs);
  assert.equal(table.trim().split('\n').length, 1 + 2 * 3);
  const markdown = formatMarkdown(runs, { seed: 1, scale: 'small', specs: [spec], svgPath: 'x.svg' });
  assert.match(markdown, /## one-bad-backend/);
  assert.match(markdown, /\| sibyl \| after \|/);
  const svg = formatSvg(runs, 'test');
  assert.equal(svg.match(/<polyline/g)?.length, 2);
  assert.match(svg, /^<svg[^>]+xmlns="http:\/\/www.w3.org\/2000\/svg"/);
});

// The targets, at full scale (a run takes about 0.2 s; at small scale, 8 workers per
// backend, one step of the learned limit is 12 % of a backend, too coarse to compare). Sibyl runs in its default configuration; only haproxy-tuned is
// told the backends' true concurrency and a queue timeout below the client timeout.
const duringPhase = (run: ReturnType<typeof runStorm>) => run.phases[1] as NonNullable<(typeof run.phases)[1]>;

test('metastable: sibyl keeps >= 90 % of capacity during the spike, with fewer client attempts per request than tuned HAProxy', () => {
  for (const seed of [1, 2, 3]) {
    const spec = scenario('metastable', 'full', seed);
    const sibyl = runStorm(spec, 'sibyl');
    const haproxy = runStorm(spec, 'haproxy-tuned');
    const during = duringPhase(sibyl);
    assert.ok(during.goodputRps >= 0.9 * sibyl.capacityRps, `seed ${seed}: ${during.goodputRps}/s of ${sibyl.capacityRps}/s`);
    assert.ok(during.clientAmplification < duringPhase(haproxy).clientAmplification, `seed ${seed}: sibyl ${during.clientAmplification} vs haproxy ${duringPhase(haproxy).clientAmplification}`);
    assert.ok(sibyl.recoverySeconds !== null && sibyl.recoverySeconds <= 5, `seed ${seed}: recovered after ${sibyl.recoverySeconds} s`);
  }
});

test('brownout: sibyl has the highest goodput; one bad backend: as good as the NGINX-like and Envoy-like baselines', () => {
  const brownout = scenario('brownout', 'full', 1);
  const sibyl = duringPhase(runStorm(brownout, 'sibyl')).goodputRps;
  for (const baseline of ['round_robin', 'nginx-like', 'envoy-like', 'haproxy-tuned'] as const) {
    assert.ok(sibyl > duringPhase(runStorm(brownout, baseline)).goodputRps, `brownout: sibyl ${sibyl}/s vs ${baseline}`);
  }
  const oneBad = scenario('one-bad-backend', 'full', 1);
  const s = duringPhase(runStorm(oneBad, 'sibyl'));
  for (const baseline of ['nginx-like', 'envoy-like'] as const) {
    const b = duringPhase(runStorm(oneBad, baseline));
    // within 0.2 %: all three serve 99.9 % of the offered load here, the rest is noise
    assert.ok(s.goodputRps >= 0.998 * b.goodputRps, `one bad backend: sibyl ${s.goodputRps}/s vs ${baseline} ${b.goodputRps}/s`);
    assert.ok(s.upstreamAmplification <= b.upstreamAmplification + 0.01, `one bad backend: sibyl ${s.upstreamAmplification} vs ${baseline} ${b.upstreamAmplification}`);
  }
});

test('tight-concurrency (issue #20): capacity 100/s; the tuned HAProxy holds it through 130 % load, round robin collapses for good', () => {
  // pinned as observed (seeds 1-4): the scenario is a storm at all only if a proxy without a
  // queue collapses and one told the true concurrency does not. Sibyl's figures here are in
  // docs/retry-storms.md (today 54/s during, 2.1 attempts per request: far from the targets)
  const spec = scenario('tight-concurrency', 'small', 1);
  const haproxy = runStorm(spec, 'haproxy-tuned');
  assert.equal(haproxy.capacityRps, 100);
  assert.ok(duringPhase(haproxy).offeredRps > 1.2 * haproxy.capacityRps, `offered ${duringPhase(haproxy).offeredRps}/s`);
  assert.ok(duringPhase(haproxy).goodputRps >= 0.95 * haproxy.capacityRps, `haproxy-tuned: ${duringPhase(haproxy).goodputRps}/s`);
  assert.ok(haproxy.recoverySeconds !== null && haproxy.recoverySeconds <= 5, `haproxy-tuned: recovered after ${haproxy.recoverySeconds} s`);
  const roundRobin = runStorm(spec, 'round_robin');
  assert.ok(duringPhase(roundRobin).goodputRps < 0.2 * roundRobin.capacityRps, `round_robin: ${duringPhase(roundRobin).goodputRps}/s`);
  assert.equal(roundRobin.recoverySeconds, null);
});
