import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManualClock } from '../core/clock.ts';
import { AdmissionQueue } from './admission-queue.ts';
import { PatienceEstimator } from './patience.ts';

test('waiters start in order when slots free, expire at their deadline, and leave when cancelled', () => {
  const clock = new ManualClock();
  const queue = new AdmissionQueue(3, clock);
  let free = 0;
  const log: string[] = [];
  const waiter = (name: string) => ({
    tryStart: () => (free > 0 ? (free--, log.push(`start ${name}`), true) : false),
    onExpired: () => log.push(`shed ${name}`),
  });
  assert.ok(queue.enqueue(waiter('a'), 100));
  const cancelB = queue.enqueue(waiter('b'), 100);
  assert.ok(queue.enqueue(waiter('c'), 300));
  assert.equal(queue.enqueue(waiter('d'), 100), undefined, 'bounded');
  cancelB?.();
  free = 1;
  queue.pump();
  clock.advance(150);
  free = 1;
  queue.pump();
  clock.advance(200);
  assert.deepEqual(log, ['start a', 'start c']);
  assert.equal(queue.length, 0);
  const e = queue.enqueue(waiter('e'), 50);
  assert.ok(e);
  clock.advance(60);
  assert.deepEqual(log.at(-1), 'shed e');
});

test('patience: three quarters of the impatient tail of give-ups of distinct clients, bounded; the default before', () => {
  const p = new PatienceEstimator(1000);
  let now = 0;
  // one give-up per client, each its own event (more than BURST_MS apart)
  const giveUp = (waitedMs: number, client: string, backendLatencyMs = 0) => p.observe({ waitedMs, client, nowMs: (now += 100), backendLatencyMs });
  assert.equal(p.deadlineMs(1000, 0, now), 1000);
  for (let i = 0; i < 50; i++) giveUp(400, `c${i}`);
  assert.equal(p.deadlineMs(1000, 0, now), 300);
  // a mix of 1 s and 2 s clients: the deadline serves the 1 s ones, not the mean
  for (let i = 0; i < 256; i++) giveUp(i % 2 === 0 ? 1000 : 2000, `d${i}`);
  assert.equal(p.deadlineMs(1000, 0, now), 750);
  // the clients of now count: old ones fall out
  for (let i = 0; i < 256; i++) giveUp(10, `e${i}`);
  assert.equal(p.deadlineMs(1000, 0, now), 20);
  // never below a few backend latencies, never above the maximum
  assert.equal(p.deadlineMs(1000, 50, now), 200);
  assert.equal(p.deadlineMs(100, 50, now), 100);
  // forgotten after five minutes without a give-up: back to the default
  assert.equal(p.deadlineMs(1000, 0, now + 5 * 60_000 + 1), 1000);
});

test('patience: a load generator closing its connections at once is one sample, and one client cannot lower the deadline', () => {
  const p = new PatienceEstimator(1000);
  const now = 10_000;
  // wrk ends a run: 256 connections of one client close within a few milliseconds
  const verdicts = Array.from({ length: 256 }, (_, i) => p.observe({ waitedMs: 30 + i / 100, client: 'wrk', nowMs: now + i / 100, backendLatencyMs: 1 }));
  assert.equal(verdicts.filter((v) => v === 'sample').length, 1);
  assert.equal(verdicts.filter((v) => v === 'burst').length, 255);
  assert.equal(p.deadlineMs(1000, 1, now + 10), 1000);
  // the same client giving up again and again is still one client
  for (let i = 1; i <= 20; i++) p.observe({ waitedMs: 30, client: 'wrk', nowMs: now + i * 1000, backendLatencyMs: 1 });
  assert.equal(p.deadlineMs(1000, 1, now + 21_000), 1000);
  // two more clients: three distinct clients are enough
  p.observe({ waitedMs: 40, client: 'b', nowMs: now + 22_000, backendLatencyMs: 1 });
  assert.equal(p.deadlineMs(1000, 1, now + 22_000), 1000);
  p.observe({ waitedMs: 50, client: 'c', nowMs: now + 23_000, backendLatencyMs: 1 });
  assert.equal(p.deadlineMs(1000, 1, now + 23_000), 0.75 * 30);
});

test('patience: a give-up sooner than the backend could answer says nothing; a steady stream of give-ups still samples', () => {
  const p = new PatienceEstimator(1000);
  for (let i = 0; i < 10; i++) assert.equal(p.observe({ waitedMs: 80, client: `c${i}`, nowMs: i * 1000, backendLatencyMs: 100 }), 'too_early');
  assert.equal(p.deadlineMs(1000, 100, 10_000), 1000);
  // 100 clients giving up 5 ms apart (a real overload): one sample per 20 ms, not one in all
  const verdicts = Array.from({ length: 100 }, (_, i) => p.observe({ waitedMs: 600, client: `s${i}`, nowMs: 20_000 + i * 5, backendLatencyMs: 100 }));
  assert.equal(verdicts.filter((v) => v === 'sample').length, 25);
  assert.equal(p.deadlineMs(1000, 100, 20_500), 450);
});
