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

test('patience: three quarters of the impatient tail of observed give-ups, bounded; the maximum before any sample', () => {
  const p = new PatienceEstimator(1000);
  assert.equal(p.deadlineMs(1000), 1000);
  for (let i = 0; i < 50; i++) p.observe(400);
  assert.equal(p.deadlineMs(1000), 300);
  // a mix of 1 s and 2 s clients: the deadline serves the 1 s ones, not the mean
  for (let i = 0; i < 256; i++) p.observe(i % 2 === 0 ? 1000 : 2000);
  assert.equal(p.deadlineMs(1000), 750);
  // the window follows the clients: old give-ups fall out
  for (let i = 0; i < 256; i++) p.observe(10);
  assert.equal(p.deadlineMs(1000), 20);
});
