import assert from 'node:assert/strict';
import { test } from 'node:test';
import { historySlotOf, type ResponseClass } from '../src/telemetry/client-profile.ts';
import { clientRetryHistory, responseClassOf, type HistoryInput } from './client-history.ts';
import { labelArrivals, type Arrival } from './labels.ts';

const WINDOW_MS = 30_000;
const arrival = (startedAtMs: number, endedAtMs: number, status = 503, fingerprint = 'f1', clientKey = 'c1'): Arrival => ({ clientKey, fingerprint, startedAtMs, endedAtMs, status, errorKind: 'none' });

test('labelArrivals: a re-send within the window after a failure is a retry, one after the window is not', () => {
  const labels = labelArrivals([arrival(0, 100), arrival(30_100, 30_200), arrival(60_201, 60_300)], WINDOW_MS);
  // 30_100 = end 100 + window: still inside (inclusive); 60_201 = end 30_200 + window + 1: too late
  assert.deepEqual(labels.map((l) => l.retried), [1, 0, 0]);
  assert.deepEqual(labels.map((l) => l.attempt), [1, 2, 1]);
  // a 0 is known when the labeller's sweep (every second) finds the window passed
  assert.deepEqual(labels.map((l) => l.labelKnownAtMs), [30_100, 60_201, 90_300]);
});

test('labelArrivals: a re-send after a success is a repeat, labelled 0 when the success ended', () => {
  const labels = labelArrivals([arrival(0, 100, 200), arrival(5_000, 5_100, 200)], WINDOW_MS);
  assert.deepEqual(labels.map((l) => l.retried), [0, 0]);
  assert.deepEqual(labels.map((l) => [l.attempt, l.isRepeat]), [[1, false], [1, true]]);
  assert.equal(labels[0]?.labelKnownAtMs, 100);
});

test('labelArrivals: the labels are the live labeller\'s (a burst of failures chains 1, 2, 3; others do not count)', () => {
  const labels = labelArrivals(
    [arrival(0, 10), arrival(200, 210), arrival(200, 215, 503, 'f2'), arrival(200, 220, 503, 'f1', 'c2'), arrival(600, 610, 200), arrival(40_000, 40_010)],
    WINDOW_MS,
  );
  assert.deepEqual(labels.map((l) => l.attempt), [1, 2, 1, 1, 3, 1]);
  assert.deepEqual(labels.map((l) => l.retried), [1, 1, 0, 0, 0, 0]);
});

const known = (startedAtMs: number, retried: 0 | 1, labelKnownAtMs: number, responseClass: ResponseClass = '5xx', clientKey = 'c1'): HistoryInput => ({ clientKey, slot: historySlotOf(responseClass, 'GET', 1), startedAtMs, retried, labelKnownAtMs });

test('clientRetryHistory: only labels known at the start count, per client key and response class', () => {
  const stats = clientRetryHistory(
    [
      known(0, 1, 1_000), // retried: known when the retry arrived
      known(500, 0, 40_000), // started before the first label was known
      known(1_000, 0, 41_000), // the first label is known at this very instant
      known(2_000, 0, 42_000, '2xx'), // another class: no history of its own
      known(3_000, 0, 43_000, '5xx', 'c2'), // another client
    ],
    600_000,
  );
  assert.deepEqual(stats[0], { rate: 0, count: 0 });
  assert.deepEqual(stats[1], { rate: 0, count: 0 });
  assert.equal(stats[2]?.count, 1);
  assert.equal(stats[2]?.rate, 0.5); // smoothed: 1 retried / (1 label + 1)
  assert.deepEqual(stats[3], { rate: 0, count: 0 });
  assert.deepEqual(stats[4], { rate: 0, count: 0 });
});

test('clientRetryHistory: labels decay with the half-life', () => {
  const stats = clientRetryHistory([known(0, 1, 20), known(1, 0, 20), known(60_020, 0, 90_000)], 60_000);
  assert.ok(Math.abs((stats[2]?.count ?? 0) - 1) < 1e-9, `two labels one half-life ago count as one: ${stats[2]?.count}`);
  assert.ok(Math.abs((stats[2]?.rate ?? 0) - 0.25) < 1e-9, 'half a retry over one label, smoothed: 0.5 / (1 + 1)');
});

test("clientRetryHistory: an attempt's own label never reaches its own features", () => {
  const base = [known(0, 1, 1_000), known(2_000, 0, 32_100)];
  const [asRetried, asNot] = ([1, 0] as const).map((retried) => clientRetryHistory([...base, known(3_000, retried, 3_500)], 600_000)[2]);
  assert.deepEqual(asRetried, asNot);
  assert.ok(Math.abs((asRetried?.count ?? 0) - 1) < 0.01, 'only the first label is known at 3 s');
});

test('responseClassOf: transport failures and aborts are "error", 429 is its own class', () => {
  assert.equal(responseClassOf(502, 'refused'), 'error');
  assert.equal(responseClassOf(0, 'aborted'), 'error');
  assert.equal(responseClassOf(504, 'timeout'), 'error');
  assert.equal(responseClassOf(503, 'none'), '5xx');
  assert.equal(responseClassOf(429, 'none'), '429');
  assert.equal(responseClassOf(404, 'none'), '4xx');
  assert.equal(responseClassOf(304, 'none'), '3xx');
  assert.equal(responseClassOf(201, 'none'), '2xx');
});
