import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { createSeededRng } from '../core/rng.ts';
import { backoffDelayMs } from './backoff.ts';
import { RetryBudget } from './retry-budget.ts';

test('retries stay within ratio x requests plus the floor, whatever the failure rate', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 5000 }), fc.integer({ min: 0, max: 20 }), (requests, floor) => {
      const budget = new RetryBudget({ ratio: 0.2, minRetriesPerSecond: floor, ttlMs: 10_000 });
      let retries = 0;
      // everything fails and everything asks for a retry, within one second
      for (let i = 0; i < requests; i++) {
        const now = (i * 1000) / requests;
        budget.deposit(now);
        if (budget.tryWithdraw(now)) retries++;
      }
      // the floor is a bucket of `floor` tokens refilled at `floor` per second: over this one
      // second it can give at most 2 x floor
      return retries <= Math.floor(0.2 * requests) + 2 * floor + 1;
    }),
  );
});

test('the floor allows retries at low traffic, and refills over time', () => {
  const budget = new RetryBudget({ ratio: 0.2, minRetriesPerSecond: 2, ttlMs: 10_000 });
  assert.equal(budget.tryWithdraw(0), true);
  assert.equal(budget.tryWithdraw(1), true);
  assert.equal(budget.tryWithdraw(2), false);
  assert.equal(budget.tryWithdraw(600), true, 'one token back after half a second at 2/s');
});

test('deposits expire after the ttl', () => {
  const budget = new RetryBudget({ ratio: 1, minRetriesPerSecond: 0, ttlMs: 1000 });
  for (let i = 0; i < 5; i++) budget.deposit(i);
  assert.equal(budget.available(10), 5);
  assert.equal(budget.available(2000), 0);
  assert.equal(budget.tryWithdraw(2000), false);
});

test('backoff is full-jitter exponential, capped', () => {
  const rng = createSeededRng(1);
  for (let retry = 0; retry < 10; retry++) {
    for (let i = 0; i < 100; i++) {
      const d = backoffDelayMs(retry, { baseMs: 25, maxMs: 1000 }, rng);
      assert.ok(d >= 0 && d < Math.min(1000, 25 * 2 ** retry));
    }
  }
});

test('at high traffic the ratio binds: about 20 % of requests can be retried', () => {
  const budget = new RetryBudget({ ratio: 0.2, minRetriesPerSecond: 10, ttlMs: 10_000 });
  let retries = 0;
  for (let i = 0; i < 10_000; i++) {
    budget.deposit(i / 10);
    if (budget.tryWithdraw(i / 10)) retries++;
  }
  assert.ok(retries >= 2000 && retries <= 2000 + 20 + 1, String(retries));
});
