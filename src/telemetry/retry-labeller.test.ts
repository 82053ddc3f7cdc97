import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { LabelledEvent } from './attempt-event.ts';
import { RetryLabeller, type PendingEvent } from './retry-labeller.ts';

const WINDOW = 30_000;

function harness(maxTracked = 1000) {
  const labelled: LabelledEvent[] = [];
  let evicted = 0;
  const labeller = new RetryLabeller({ windowMs: WINDOW, maxTracked }, { onLabelled: (e) => labelled.push(e), onEvict: (n) => (evicted += n) });
  const event = (id: string, attempt: number, status = 200, backend = 'b1') => ({ requestId: id, attempt, retried: 0, status, errorKind: 'none', backend }) as unknown as PendingEvent;
  /** One request from arrival to end. */
  const request = (id: string, client: string, fp: string, start: number, end: number) => {
    const t = labeller.arrive(client, fp, start);
    return { ticket: t, end: () => labeller.finish(client, fp, t, event(id, t.attempt), end) };
  };
  const labelOf = (id: string) => labelled.find((e) => e.requestId === id)?.retried;
  return { labeller, labelled, request, labelOf, evicted: () => evicted };
}

test('a retry inside the window labels the first attempt 1 and chains attempt numbers', () => {
  const h = harness();
  const a = h.request('a', 'c1', 'f1', 0, 100);
  a.end();
  const b = h.request('b', 'c1', 'f1', 5_000, 5_100);
  b.end();
  const c = h.request('c', 'c1', 'f1', 10_000, 10_100);
  c.end();
  assert.deepEqual([a.ticket.attempt, b.ticket.attempt, c.ticket.attempt], [1, 2, 3]);
  assert.equal(h.labelOf('a'), 1);
  assert.equal(h.labelOf('b'), 1);
  assert.equal(h.labelOf('c'), undefined, 'not known until the window passes');
  h.labeller.sweep(10_100 + WINDOW + 1);
  assert.equal(h.labelOf('c'), 0);
});

test('a repeat after the window is a new attempt 1 and the first is labelled 0', () => {
  const h = harness();
  h.request('a', 'c1', 'f1', 0, 100).end();
  h.labeller.sweep(100 + WINDOW + 1);
  const b = h.request('b', 'c1', 'f1', 100 + WINDOW + 2, 100 + WINDOW + 50);
  assert.equal(h.labelOf('a'), 0);
  assert.equal(b.ticket.attempt, 1);
});

test('an arrival while the first attempt is still in flight labels it 1 when it ends', () => {
  const h = harness();
  const a = h.request('a', 'c1', 'f1', 0, 8_000); // a slow attempt the client gave up on
  const b = h.request('b', 'c1', 'f1', 2_000, 2_050);
  b.end();
  assert.equal(h.labelOf('a'), undefined, 'emitted only once its event exists');
  a.end();
  assert.equal(h.labelOf('a'), 1);
  assert.equal(b.ticket.attempt, 2);
});

test('different clients or fingerprints never label each other', () => {
  const h = harness();
  h.request('a', 'c1', 'f1', 0, 10).end();
  h.request('b', 'c2', 'f1', 100, 110).end();
  h.request('c', 'c1', 'f2', 200, 210).end();
  h.labeller.sweep(1_000_000);
  assert.deepEqual([h.labelOf('a'), h.labelOf('b'), h.labelOf('c')], [0, 0, 0]);
});

test('the confounder: a client repeating a request after a success within the window is labelled retried by definition', () => {
  const h = harness();
  h.request('poll-1', 'poller', 'f', 0, 20).end();
  h.request('poll-2', 'poller', 'f', 10_000, 10_020).end();
  assert.equal(h.labelOf('poll-1'), 1);
});

test('memory is bounded: the least recently used entry is evicted and counted', () => {
  const h = harness(2);
  h.request('a', 'c1', 'f', 0, 10).end();
  h.request('b', 'c2', 'f', 1, 11).end();
  h.request('c', 'c3', 'f', 2, 12).end();
  assert.equal(h.labeller.trackedKeys, 2);
  assert.equal(h.evicted(), 1);
  h.labeller.sweep(1_000_000);
  assert.equal(h.labelOf('a'), undefined, 'an evicted attempt is never labelled');
  assert.equal(h.labelOf('b'), 0);
});

test('idle entries are dropped after the window', () => {
  const h = harness();
  for (let i = 0; i < 100; i++) h.request(`r${i}`, `c${i}`, 'f', i, i + 5).end();
  assert.equal(h.labeller.trackedKeys, 100);
  h.labeller.sweep(200 + WINDOW);
  assert.equal(h.labeller.trackedKeys, 0);
  assert.equal(h.labelled.length, 100);
});

test('a client hammering one URL keeps bounded state and a saturating attempt number', () => {
  const h = harness();
  let last = 0;
  for (let i = 0; i < 10_000; i++) {
    const r = h.request(`r${i}`, 'hot', 'f', i, i + 1);
    r.end();
    last = r.ticket.attempt;
  }
  assert.equal(last, 33);
  assert.equal(h.labeller.trackedKeys, 1);
  assert.equal(h.labelled.length, 9_999, 'each request was retried by the next');
});

test('a client retry carries the backend to avoid: the one that failed it', () => {
  const labelled: LabelledEvent[] = [];
  const labeller = new RetryLabeller({ windowMs: WINDOW, maxTracked: 10 }, { onLabelled: (e) => labelled.push(e), onEvict: () => {} });
  const ev = (status: number, backend: string) => ({ requestId: 'x', attempt: 1, retried: 0, status, errorKind: 'none', backend }) as unknown as PendingEvent;
  const a = labeller.arrive('c', 'f', 0);
  assert.equal(a.avoidBackendId, undefined);
  labeller.finish('c', 'f', a, ev(503, 'b1'), 10);
  const b = labeller.arrive('c', 'f', 20);
  assert.equal(b.avoidBackendId, 'b1', 'the 503 came from b1');
  labeller.finish('c', 'f', b, ev(200, 'b2'), 30);
  const c = labeller.arrive('c', 'f', 40);
  assert.equal(c.avoidBackendId, undefined, 'a success is not avoided');
  const d = labeller.arrive('c', 'f', 50);
  assert.equal(d.avoidBackendId, undefined, 'a duplicate of an attempt in flight is routed as usual');
});
