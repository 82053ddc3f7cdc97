import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createConcurrencyLimiter, DEFAULT_LIMITER_OPTIONS } from './concurrency-limiter.ts';

/** A backend that serves `capacity` at once: latency grows with the queue beyond it. */
function simulate(capacity: number, serviceMs: number, rounds: number) {
  // the default start is low, so the first samples show the no-load latency (a slow start)
  const limiter = createConcurrencyLimiter(DEFAULT_LIMITER_OPTIONS);
  let now = 0;
  for (let r = 0; r < rounds || limiter.isProbing; r++) {
    let n = 0;
    while (limiter.tryAcquire()) n++;
    const latency = serviceMs * Math.max(1, n / capacity);
    now += latency;
    for (let i = 0; i < n; i++) limiter.release(latency, false, now);
  }
  return limiter;
}

// with tolerance 3 the limit settles near 3 x the real capacity: queueing of up to 3 x the
// no-load latency is accepted before the limit backs off
test('learns roughly the concurrency a backend sustains, from latency alone', () => {
  for (const capacity of [4, 16, 64]) {
    const limiter = simulate(capacity, 10, 3000);
    assert.ok(limiter.limit >= capacity * 0.7 && limiter.limit <= capacity * 3.5, `capacity ${capacity}: limit ${limiter.limit}`);
  }
});

test('overload signals shrink the limit at most once per round trip, never below the minimum', () => {
  const limiter = createConcurrencyLimiter({ ...DEFAULT_LIMITER_OPTIONS, initialLimit: 100, minLimit: 5, probeSamples: 1 });
  limiter.tryAcquire();
  limiter.release(10, false, 0); // the start-up probe: no-load latency 10 ms
  for (let i = 0; i < 50; i++) {
    limiter.tryAcquire();
    limiter.release(10, true, 1);
  }
  assert.equal(limiter.limit, 90, 'fifty failures within one round trip are one decrease');
  for (let t = 0; t < 1000; t++) {
    limiter.tryAcquire();
    limiter.release(10, true, 20 * t);
  }
  assert.equal(limiter.limit, 5);
});

test('it starts by probing at the minimum, and probes again after the interval', () => {
  const limiter = createConcurrencyLimiter({ ...DEFAULT_LIMITER_OPTIONS, initialLimit: 20, minLimit: 2, probeSamples: 2, probeIntervalMs: 1000 });
  assert.equal(limiter.isProbing, true);
  assert.equal(limiter.limit, 2);
  for (const latency of [12, 9]) {
    limiter.tryAcquire();
    limiter.release(latency, false, 0);
  }
  assert.equal(limiter.isProbing, false);
  assert.equal(limiter.baselineMs, 9);
  assert.equal(limiter.limit, 20);
  limiter.tryAcquire();
  limiter.release(9, false, 1500);
  assert.equal(limiter.isProbing, true, 'the interval passed: measure the no-load latency again');
});

test('slots are bounded by the limit and given back', () => {
  const limiter = createConcurrencyLimiter({ ...DEFAULT_LIMITER_OPTIONS, initialLimit: 3, probeSamples: 1 });
  limiter.tryAcquire();
  limiter.release(1, false, 0);
  assert.equal([limiter.tryAcquire(), limiter.tryAcquire(), limiter.tryAcquire(), limiter.tryAcquire()].filter(Boolean).length, 3);
  limiter.cancel();
  assert.equal(limiter.inFlight, 2);
  assert.equal(limiter.tryAcquire(), true);
});
