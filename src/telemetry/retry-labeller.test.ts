import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { RecordedEvent } from './attempt-event.ts';
import { MAX_OPEN, RetryLabeller, type PendingEvent } from './retry-labeller.ts';

const WINDOW = 30_000;

function harness(maxTracked = 1000) {
  const labelled: RecordedEvent[] = [];
  let evicted = 0;
  let retries = 0;
  let repeats = 0;
  const labeller = new RetryLabeller(
    { windowMs: WINDOW, maxTracked },
    { onLabelled: (e) => labelled.push(e), onEvict: (n) => (evicted += n), onRetry: () => retries++, onRepeat: () => repeats++ },
  );
  const event = (id: string, status: number, errorKind = 'none', backend = 'b1') => ({ requestId: id, attempt: 0, repeat: false, retried: null, status, errorKind, backend }) as unknown as PendingEvent;
  /** One request from arrival to end. */
  const request = (id: string, client: string, fp: string, start: number, end: number, status = 200, opts: { errorKind?: string; marker?: number; backend?: string } = {}) => {
    const t = labeller.arrive(client, fp, start, opts.marker);
    return { ticket: t, end: () => labeller.finish(t, event(id, status, opts.errorKind, opts.backend), end) };
  };
  const labelOf = (id: string) => labelled.find((e) => e.requestId === id)?.retried;
  const eventOf = (id: string) => labelled.find((e) => e.requestId === id);
  return { labeller, labelled, request, labelOf, eventOf, evicted: () => evicted, retries: () => retries, repeats: () => repeats };
}

test('a re-send after a failure is a retry: the failed attempt is labelled 1 and attempt numbers chain', () => {
  const h = harness();
  const a = h.request('a', 'c1', 'f1', 0, 100, 503);
  a.end();
  const b = h.request('b', 'c1', 'f1', 1_000, 1_100, 500);
  b.end();
  const c = h.request('c', 'c1', 'f1', 3_000, 3_100, 503);
  c.end();
  assert.deepEqual([a.ticket.attempt, b.ticket.attempt, c.ticket.attempt], [1, 2, 3]);
  assert.deepEqual([h.labelOf('a'), h.labelOf('b')], [1, 1]);
  assert.equal(h.labelOf('c'), undefined, 'a failure is labelled only when the window passes');
  h.labeller.sweep(3_100 + WINDOW + 1);
  assert.equal(h.labelOf('c'), 0);
  assert.equal(h.retries(), 2);
  assert.equal(h.eventOf('b')?.attempt, 2, 'the event carries the attempt number');
});

test('a re-send after a success is a repeat: attempt 1, counted apart, and the success is labelled 0 at once', () => {
  const h = harness();
  const a = h.request('a', 'c1', 'f1', 0, 20);
  a.end();
  assert.equal(h.labelOf('a'), 0, 'a success is never retried: labelled when it ends');
  const b = h.request('b', 'c1', 'f1', 5_000, 5_020);
  b.end();
  assert.equal(b.ticket.attempt, 1);
  assert.equal(b.ticket.isRepeat, true);
  assert.equal(h.eventOf('b')?.repeat, true);
  assert.equal(h.retries(), 0);
  assert.equal(h.repeats(), 1);
});

test('429, 408 and transport errors are failures the client may retry; 404 and 3xx are successes', () => {
  for (const [status, errorKind, isFailure] of [[429, 'none', true], [408, 'none', true], [502, 'reset', true], [0, 'aborted', true], [404, 'none', false], [304, 'none', false], [400, 'none', false]] as const) {
    const h = harness();
    h.request('a', 'c', 'f', 0, 10, status, { errorKind }).end();
    const b = h.request('b', 'c', 'f', 500, 510);
    assert.equal(b.ticket.isRetry, isFailure, `${status} ${errorKind}`);
    assert.equal(h.labelOf('a'), isFailure ? 1 : 0, `${status} ${errorKind}`);
  }
});

test('a re-send after the window is a new chain, not a retry; the failure was labelled 0', () => {
  const h = harness();
  h.request('a', 'c1', 'f1', 0, 100, 500).end();
  h.labeller.sweep(100 + WINDOW + 1);
  const b = h.request('b', 'c1', 'f1', 100 + WINDOW + 2, 100 + WINDOW + 50);
  assert.equal(h.labelOf('a'), 0);
  assert.equal(b.ticket.attempt, 1);
  assert.equal(b.ticket.isRetry, false);
});

test('a client that gave up (disconnected) and re-sent: the abandoned attempt is retried', () => {
  const h = harness();
  const a = h.request('a', 'c1', 'f1', 0, 1_000, 0, { errorKind: 'aborted' });
  a.end(); // the client closed its connection at 1 s
  const b = h.request('b', 'c1', 'f1', 1_001, 1_050);
  b.end();
  assert.equal(h.labelOf('a'), 1);
  assert.equal(b.ticket.attempt, 2);
  assert.equal(b.ticket.avoidBackendId, undefined, 'a slow backend is not a failed one: routed as usual');
});

test('a re-send seen before the close of the abandoned attempt becomes its retry when that attempt ends', () => {
  const h = harness();
  const a = h.request('a', 'c1', 'f1', 0, 1_000, 0, { errorKind: 'aborted' });
  const b = h.request('b', 'c1', 'f1', 999, 1_050);
  assert.equal(b.ticket.isRetry, false, 'at arrival the first attempt still had its client');
  a.end();
  b.end();
  assert.equal(h.labelOf('a'), 1);
  assert.equal(h.eventOf('b')?.attempt, 2);
  assert.equal(h.retries(), 1);
});

test('identical requests in flight at once from a connected client (a load generator) are never retries', () => {
  const h = harness();
  const open = Array.from({ length: 64 }, (_, i) => h.request(`r${i}`, 'wrk', 'GET /', i, 100 + i));
  for (const r of open) r.end();
  for (let i = 64; i < 10_000; i++) h.request(`r${i}`, 'wrk', 'GET /', i * 2, i * 2 + 1).end();
  assert.equal(h.retries(), 0);
  assert.ok(h.labelled.every((e) => e.retried === 0));
  assert.ok(h.labelled.every((e) => e.attempt === 1));
  assert.equal(h.labeller.trackedKeys, 1);
});

test('a load generator closing its connections at the end makes no retries', () => {
  const h = harness();
  const open = Array.from({ length: 64 }, (_, i) => h.request(`r${i}`, 'wrk', 'GET /', i, 500, 0, { errorKind: 'aborted' }));
  for (const r of open) r.end();
  h.labeller.sweep(500 + WINDOW + 1);
  assert.equal(h.retries(), 0);
  assert.equal(h.labelled.length, 64);
  // MAX_OPEN of them were tracked and labelled 0; the others were pushed out: unknown, never 1
  assert.ok(h.labelled.every((e) => e.retried !== 1));
});

test('an explicit retry marker wins: attempt=1 starts a new chain, attempt=N is a retry even of an attempt in flight', () => {
  const h = harness();
  h.request('a', 'c', 'f', 0, 10, 500, { marker: 1 }).end();
  const b = h.request('b', 'c', 'f', 100, 110, 200, { marker: 1 });
  assert.deepEqual([b.ticket.attempt, b.ticket.isRetry, b.ticket.isRepeat], [1, false, true], 'the SDK says: a new call');
  b.end();
  const c = h.request('c', 'c', 'f', 200, 5_000, 503, { marker: 1 });
  const d = h.request('d', 'c', 'f', 1_200, 1_300, 200, { marker: 2 }); // the SDK timed out on c
  assert.deepEqual([d.ticket.attempt, d.ticket.isRetry], [2, true]);
  c.end();
  assert.equal(h.labelOf('c'), 1);
  const e = h.request('e', 'c', 'other', 2_000, 2_010, 200, { marker: 3 });
  assert.deepEqual([e.ticket.attempt, e.ticket.isRetry], [3, true], 'its original went to another instance');
  h.labeller.sweep(10 + WINDOW + 1);
  assert.equal(h.labelOf('a'), 0, 'not retried: the next call was marked a first attempt');
});

test('different clients or fingerprints never label each other', () => {
  const h = harness();
  h.request('a', 'c1', 'f1', 0, 10, 500).end();
  h.request('b', 'c2', 'f1', 100, 110, 500).end();
  h.request('c', 'c1', 'f2', 200, 210, 500).end();
  h.labeller.sweep(1_000_000);
  assert.deepEqual([h.labelOf('a'), h.labelOf('b'), h.labelOf('c')], [0, 0, 0]);
});

test('at shutdown, failures still inside their window are written with retried = null', () => {
  const h = harness();
  h.request('a', 'c1', 'f1', 0, 10, 503).end();
  h.request('b', 'c2', 'f1', 0, 10).end();
  assert.equal(h.labeller.flushUnlabelled(), 1);
  assert.equal(h.labelOf('a'), null);
  assert.equal(h.labelled.length, 2, 'every finished attempt is on file');
});

test('memory is bounded: the least recently used entry is evicted, its failures labelled null', () => {
  const h = harness(2);
  h.request('a', 'c1', 'f', 0, 10, 500).end();
  h.request('b', 'c2', 'f', 1, 11, 500).end();
  h.request('c', 'c3', 'f', 2, 12, 500).end();
  assert.equal(h.labeller.trackedKeys, 2);
  assert.equal(h.evicted(), 1);
  assert.equal(h.labelOf('a'), null);
  h.labeller.sweep(1_000_000);
  assert.equal(h.labelOf('b'), 0);
});

test('one client with many identical requests in flight keeps at most MAX_OPEN of them; the rest still get their label', () => {
  const h = harness();
  const open = Array.from({ length: MAX_OPEN + 5 }, (_, i) => h.request(`r${i}`, 'c', 'f', i, 100));
  for (const r of open) r.end();
  assert.equal(h.labelled.length, MAX_OPEN + 5);
  assert.ok(h.labelled.every((e) => e.retried === 0));
});

test('idle entries are dropped after the window', () => {
  const h = harness();
  for (let i = 0; i < 100; i++) h.request(`r${i}`, `c${i}`, 'f', i, i + 5, i % 2 === 0 ? 200 : 503).end();
  assert.equal(h.labeller.trackedKeys, 100);
  h.labeller.sweep(200 + WINDOW);
  assert.equal(h.labeller.trackedKeys, 0);
  assert.equal(h.labelled.length, 100);
});

test('a client retry carries the backend to avoid: the one that failed it', () => {
  const h = harness();
  const a = h.request('a', 'c', 'f', 0, 10, 503, { backend: 'b1' });
  assert.equal(a.ticket.avoidBackendId, undefined);
  a.end();
  const b = h.request('b', 'c', 'f', 20, 30, 200, { backend: 'b2' });
  assert.equal(b.ticket.avoidBackendId, 'b1', 'the 503 came from b1');
  b.end();
  const c = h.request('c', 'c', 'f', 40, 50);
  assert.equal(c.ticket.avoidBackendId, undefined, 'a repeat after a success avoids nothing');
});

test('every failure is handed to the learner learnAfterMs after it ended, with the label known then; its final label still waits for the window', () => {
  const learnable: [string, 0 | 1][] = [];
  const delays: number[] = [];
  const labelled: RecordedEvent[] = [];
  const labeller = new RetryLabeller(
    { windowMs: WINDOW, maxTracked: 100, learnAfterMs: 2_000 },
    { onLabelled: (e) => labelled.push(e), onEvict: () => {}, onRetry: () => {}, onRepeat: () => {}, onLearnable: (e, label) => learnable.push([e.requestId, label]), onRetryDelay: (ms) => delays.push(ms) },
  );
  const ev = (id: string, status: number) => ({ requestId: id, attempt: 0, repeat: false, retried: null, status, errorKind: 'none', backend: 'b1' }) as unknown as PendingEvent;
  const request = (id: string, client: string, start: number, end: number, status: number) => labeller.finish(labeller.arrive(client, 'f', start), ev(id, status), end);
  request('a', 'c1', 0, 10, 503);
  request('b', 'c2', 0, 10, 503);
  request('c', 'c3', 0, 10, 503);
  request('a2', 'c1', 500, 510, 200); // a's retry, before the learning delay
  assert.deepEqual(labelled.map((e) => [e.requestId, e.retried]), [['a', 1], ['a2', 0]], 'final labels as soon as known');
  labeller.sweep(1_000);
  assert.deepEqual(learnable, [], 'too soon');
  labeller.sweep(2_011);
  assert.deepEqual(learnable, [['a', 1], ['b', 0], ['c', 0]], 'in order of their end, the 1 and the 0s together; successes never');
  labeller.sweep(3_000);
  assert.equal(learnable.length, 3, 'once each');
  // a late retry of b: its final label is 1 (the learner corrects its 0)
  labeller.arrive('c2', 'f', 4_010);
  assert.deepEqual(labelled.slice(2).map((e) => [e.requestId, e.retried]), [['b', 1]]);
  assert.deepEqual(delays, [490, 4_000]);
  labeller.sweep(10 + WINDOW + 1);
  assert.deepEqual(labelled.slice(3).map((e) => [e.requestId, e.retried]), [['c', 0]]);
});
