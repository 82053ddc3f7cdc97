import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { LabelledEvent } from '../src/telemetry/attempt-event.ts';
import { PROXY_TIMEOUT_MS } from './backends.ts';
import { responseClassOf } from './client-history.ts';
import { labelArrivals } from './labels.ts';
import type { PopulationName } from './populations.ts';
import { generateTelemetry, simulateTelemetry, writeNdjson } from './telemetry-generator.ts';

const START_MS = Date.UTC(2025, 0, 1);
const WINDOW_MS = 30_000;
const BIG = { seed: 1, clients: 100, durationMs: 45 * 60_000, startMs: START_MS };

// one ~100k-event run shared by the tests below (no timing here: a busy machine is not a failure)
const big = simulateTelemetry(BIG);

function retryRate(events: readonly LabelledEvent[], keep: (e: LabelledEvent, population: PopulationName) => boolean): { n: number; rate: number } {
  let n = 0;
  let retried = 0;
  for (const e of events) {
    if (!keep(e, big.populationOf.get(e.clientKey) as PopulationName)) continue;
    n++;
    retried += e.retried;
  }
  return { n, rate: n === 0 ? Number.NaN : retried / n };
}

/** ROC AUC of a score against the labels (ties get half credit). */
function auc(events: readonly LabelledEvent[], score: (e: LabelledEvent) => number): number {
  const sorted = events.map((e) => ({ s: score(e), y: e.retried })).sort((a, b) => a.s - b.s);
  let positives = 0;
  let rankSum = 0;
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j < sorted.length && sorted[j]?.s === sorted[i]?.s) j++;
    for (let k = i; k < j; k++) {
      if (sorted[k]?.y === 1) {
        positives++;
        rankSum += (i + j + 1) / 2;
      }
    }
    i = j;
  }
  const negatives = sorted.length - positives;
  return (rankSum - (positives * (positives + 1)) / 2) / (positives * negatives);
}

test('generateTelemetry: the same seed gives the same events, another seed other events', () => {
  const options = { seed: 42, clients: 30, durationMs: 10 * 60_000, startMs: START_MS };
  const a = generateTelemetry(options);
  assert.ok(a.length > 1000, `${a.length} events`);
  assert.deepEqual(generateTelemetry(options), a);
  assert.notDeepEqual(generateTelemetry({ ...options, seed: 43 }).slice(0, 10), a.slice(0, 10));
});

test('generateTelemetry: 100 clients over 45 minutes make ~100k events', () => {
  assert.ok(big.events.length > 90_000 && big.events.length < 110_000, `${big.events.length} events`);
});

test('events are sorted by start, inside the run, and their fields agree with each other', () => {
  const endMs = START_MS + BIG.durationMs;
  let previous = -Infinity;
  for (const e of big.events) {
    assert.ok(e.startedAtMs >= previous && e.startedAtMs >= START_MS && e.startedAtMs < endMs);
    previous = e.startedAtMs;
    assert.ok(e.endedAtMs >= e.startedAtMs && e.latencyMs >= 0 && e.latencyMs <= PROXY_TIMEOUT_MS);
    assert.equal(e.status === 0, e.errorKind === 'aborted');
    if (e.retryAfterSec !== undefined) assert.ok((e.status === 429 || e.status === 503) && e.retryAfterSec >= 1 && e.retryAfterSec <= 60);
    assert.equal(e.backend === '', e.status === 429, 'only the limiter answers without a backend');
    assert.ok(e.bytesIn > 0 && e.bytesOut >= 0 && e.clientRetryRate >= 0 && e.clientRetryRate <= 1 && e.clientLabelCount >= 0);
  }
  assert.equal(new Set(big.events.map((e) => e.requestId)).size, big.events.length);
});

test('attempt and retried are exactly what labelArrivals computes from the emitted arrivals', () => {
  const labels = labelArrivals(big.events, WINDOW_MS);
  // the last window's retries may fall after the run: only those labels need the arrivals beyond it
  const settledBeforeMs = START_MS + BIG.durationMs - WINDOW_MS - PROXY_TIMEOUT_MS;
  let checked = 0;
  big.events.forEach((e, i) => {
    assert.equal(e.attempt, labels[i]?.attempt);
    if (e.startedAtMs < settledBeforeMs) {
      assert.equal(e.retried, labels[i]?.retried);
      checked++;
    }
  });
  assert.ok(checked > 90_000);
});

test("the first request of each client has no history: clientRetryRate is never the request's own label", () => {
  const seen = new Set<string>();
  for (const e of big.events) {
    if (seen.has(e.clientKey)) continue;
    seen.add(e.clientKey);
    assert.equal(e.clientRetryRate, 0);
    assert.equal(e.clientLabelCount, 0);
  }
  assert.equal(seen.size, BIG.clients);
});

test('populations: aggressive retries most 503s, never-clients none, network-only only transport failures', () => {
  const aggressive503 = retryRate(big.events, (e, p) => p === 'aggressive' && e.status === 503);
  const never503 = retryRate(big.events, (e, p) => p === 'never' && e.status === 503);
  const networkTransport = retryRate(big.events, (e, p) => p === 'network-only' && e.errorKind !== 'none');
  const networkStatus = retryRate(big.events, (e, p) => p === 'network-only' && e.errorKind === 'none' && (e.status === 429 || e.status >= 500));
  for (const r of [aggressive503, never503, networkTransport, networkStatus]) assert.ok(r.n >= 50, `too few samples: ${r.n}`);
  assert.ok(aggressive503.rate > 0.8, `aggressive 503: ${aggressive503.rate}`);
  assert.equal(never503.rate, 0);
  assert.ok(networkTransport.rate > 0.7, `network-only transport: ${networkTransport.rate}`);
  assert.equal(networkStatus.rate, 0);
});

test('populations: retry-after clients come back within the window only when Retry-After allows it', () => {
  const soon = retryRate(big.events, (e, p) => p === 'retry-after' && e.retryAfterSec !== undefined && e.retryAfterSec <= 25);
  const late = retryRate(big.events, (e, p) => p === 'retry-after' && e.retryAfterSec !== undefined && e.retryAfterSec > WINDOW_MS / 1000);
  assert.ok(soon.n >= 50 && late.n >= 10, `samples: ${soon.n}, ${late.n}`);
  assert.ok(soon.rate > 0.8, `Retry-After <= 25 s: ${soon.rate}`);
  assert.equal(late.rate, 0);
});

test('the polling confounder is gone: polls after successes are repeats, never labelled retried', () => {
  const isSuccess = (e: LabelledEvent): boolean => responseClassOf(e.status, e.errorKind) === '2xx';
  const polls = big.events.filter((e) => e.repeat);
  assert.ok(polls.length > 100, `repeats: ${polls.length}`);
  assert.ok(polls.every((e) => e.attempt === 1), 'a repeat starts a new chain');
  assert.equal(big.events.filter((e) => isSuccess(e) && e.retried === 1).length, 0);
  // among failures, the client's own history is what tells retrying clients apart
  const failures = big.events.filter((e) => !isSuccess(e) && e.clientLabelCount >= 5);
  assert.ok(auc(failures, (e) => e.clientRetryRate) > 0.8, `history AUC on failures ${auc(failures, (e) => e.clientRetryRate)}`);
});

test('no field leaks the label; status alone is a weak predictor', () => {
  assert.equal(new Set(big.events.map((e) => e.prediction)).size, 1);
  const numeric = ['attempt', 'status', 'latencyMs', 'bytesIn', 'bytesOut', 'retryAfterSec', 'clientRetryRate', 'clientLabelCount', 'backendLatencyEwmaMs', 'backendErrorEwma', 'backendInFlight', 'startedAtMs', 'endedAtMs'] as const;
  for (const field of numeric) {
    const a = auc(big.events, (e) => e[field] ?? -1);
    assert.ok(Math.max(a, 1 - a) < 0.97, `${field} alone ranks the labels with AUC ${a}`);
  }
  const positives = big.events.filter((e) => e.retried === 1).length / big.events.length;
  assert.ok(positives > 0.005 && positives < 0.4, `positive rate ${positives}`);
  // only failures can be retried, so status separates successes; among failures it is weak
  const failures = big.events.filter((e) => e.status >= 400 || e.errorKind !== 'none');
  const statusBaseline = auc(failures, (e) => (e.status >= 500 || e.errorKind !== 'none' ? 1 : 0));
  assert.ok(statusBaseline < 0.75, `status >= 500 baseline among failures: ${statusBaseline}`);
});

test('writeNdjson: one JSON object per line, undefined fields omitted', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'sibyl-sim-'));
  try {
    const events = big.events.slice(0, 2_000);
    const path = join(dir, 'telemetry.ndjson');
    await writeNdjson(events, path);
    const lines = (await readFile(path, 'utf8')).split('\n');
    assert.equal(lines.pop(), '');
    assert.equal(lines.length, events.length);
    const parsed = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    parsed.forEach((p, i) => {
      const e = events[i] as LabelledEvent;
      assert.equal('retryAfterSec' in p, e.retryAfterSec !== undefined);
      assert.deepEqual(p, JSON.parse(JSON.stringify(e)));
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
