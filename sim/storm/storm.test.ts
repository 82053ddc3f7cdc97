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
  const spec = scenario('one-bad-backend', 'small', 1);
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
