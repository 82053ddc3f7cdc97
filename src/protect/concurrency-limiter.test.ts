import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createConcurrencyLimiter, DEFAULT_LIMITER_OPTIONS } from './concurrency-limiter.ts';

/** n light-load answers of latencyMs: enough for latency to count. */
function learnBaseline(limiter: ReturnType<typeof createConcurrencyLimiter>, latencyMs: number, n = 20): void {
  for (let i = 0; i < n; i++) {
    limiter.tryAcquire();
    limiter.release(latencyMs, false, i, 1);
  }
}

/**
 * A backend that serves `capacity` at once, in steady state: with n in flight every request waits
 * behind the queue, so all n take serviceMs x n / capacity.
 */
function simulate(capacity: number, serviceMs: number, rounds: number) {
  const limiter = createConcurrencyLimiter(DEFAULT_LIMITER_OPTIONS);
  learnBaseline(limiter, serviceMs);
  let now = 100;
  for (let r = 0; r < rounds; r++) {
    let n = 0;
    while (limiter.tryAcquire()) n++;
    const latency = serviceMs * Math.max(1, n / capacity);
    now += latency;
    for (let i = 0; i < n; i++) limiter.release(latency, false, now, n);
  }
  return limiter;
}

// the limit settles between the real capacity and tolerance x it: queueing of up to 3 x the
// no-load latency is accepted before the limit backs off
test('learns roughly the concurrency a backend sustains, from latency alone', () => {
  for (const capacity of [4, 16, 64]) {
    const limiter = simulate(capacity, 10, 3000);
    assert.ok(limiter.limit >= capacity * 0.7 && limiter.limit <= capacity * (DEFAULT_LIMITER_OPTIONS.tolerance + 0.5), `capacity ${capacity}: limit ${limiter.limit}`);
  }
});

test('overload signals shrink the limit at most once per round trip, never below the minimum', () => {
  const limiter = createConcurrencyLimiter({ ...DEFAULT_LIMITER_OPTIONS, initialLimit: 100, minLimit: 5 });
  limiter.tryAcquire();
  limiter.release(10, false, 0, 1); // a light-load answer: no-load latency 10 ms
  for (let i = 0; i < 50; i++) {
    limiter.tryAcquire();
    limiter.release(10, true, 1, 1);
  }
  assert.equal(limiter.limit, Math.floor(100 * DEFAULT_LIMITER_OPTIONS.backoffRatio), 'fifty failures within one round trip are one decrease');
  for (let t = 0; t < 1000; t++) {
    limiter.tryAcquire();
    limiter.release(10, true, 20 * t, 1);
  }
  assert.equal(limiter.limit, 5);
});

test('the no-load latency comes from light-load answers only; busy answers never raise it', () => {
  const limiter = createConcurrencyLimiter({ ...DEFAULT_LIMITER_OPTIONS, initialLimit: 40 });
  assert.equal(limiter.baselineMs, Number.POSITIVE_INFINITY);
  limiter.tryAcquire();
  limiter.release(12, false, 0, 1);
  assert.equal(limiter.baselineMs, 12, 'alone on the backend: no-load');
  for (let i = 0; i < 30; i++) limiter.tryAcquire();
  for (let i = 0; i < 30; i++) limiter.release(3, false, 2000 + i, 30);
  assert.equal(limiter.baselineMs, 12, 'answers under load say nothing about the no-load latency');
});

test('a mix of cheap and expensive requests is not an overload; queueing on top of the same mix is', () => {
  const limiter = createConcurrencyLimiter({ ...DEFAULT_LIMITER_OPTIONS, initialLimit: 40 });
  learnBaseline(limiter, 1);
  // every tenth request a 100 ms report among 1 ms reads, with the limit in use
  let now = 100;
  for (let i = 0; i < 2000; i++) {
    limiter.tryAcquire();
    limiter.release(i % 10 === 0 ? 100 : 1, false, (now += 1), 20);
  }
  assert.ok(limiter.limit >= 40, `the mix alone keeps the limit: ${limiter.limit}`);
  // now the same mix waits 10 ms in the backend's queue
  const before = limiter.limit;
  for (let i = 0; i < 500; i++) {
    limiter.tryAcquire();
    limiter.release(10 + (i % 10 === 0 ? 100 : 1), false, (now += 1), 20);
  }
  assert.ok(limiter.limit < before, `queueing shrinks it: ${limiter.limit}`);
});

test('before enough light-load answers, latency alone shrinks nothing', () => {
  const limiter = createConcurrencyLimiter({ ...DEFAULT_LIMITER_OPTIONS, initialLimit: 40 });
  learnBaseline(limiter, 1, 5);
  for (let i = 0; i < 200; i++) limiter.release(500, false, 100 + i * 10, 30);
  assert.ok(limiter.limit >= 40);
});

test('slots are bounded by the limit and given back', () => {
  const limiter = createConcurrencyLimiter({ ...DEFAULT_LIMITER_OPTIONS, initialLimit: 3 });
  assert.equal([limiter.tryAcquire(), limiter.tryAcquire(), limiter.tryAcquire(), limiter.tryAcquire()].filter(Boolean).length, 3);
  limiter.cancel();
  assert.equal(limiter.inFlight, 2);
  assert.equal(limiter.tryAcquire(), true);
});

test('a client that gave up after more than tolerance x the no-load latency is an overload signal; a quick one is not', () => {
  const limiter = createConcurrencyLimiter({ ...DEFAULT_LIMITER_OPTIONS, initialLimit: 100 });
  learnBaseline(limiter, 10); // no-load latency 10 ms
  limiter.tryAcquire();
  limiter.abandon(15, 100);
  assert.equal(limiter.limit, 100, 'within tolerance: the client was just impatient');
  assert.equal(limiter.inFlight, 0, 'the slot is given back');
  limiter.tryAcquire();
  limiter.abandon(1000, 200);
  assert.equal(limiter.limit, Math.floor(100 * DEFAULT_LIMITER_OPTIONS.backoffRatio), 'the backend kept it 100 x its no-load latency');
});

test("the proxy's own event-loop lag is not taken for backend overload, and does not teach the no-load latency", () => {
  const limiter = createConcurrencyLimiter(DEFAULT_LIMITER_OPTIONS);
  learnBaseline(limiter, 20);
  const before = limiter.limit;
  // the backend still answers in 20-25 ms, but a CPU-starved proxy sees each answer 60 ms late
  let now = 1000;
  for (let i = 0; i < 300; i++) {
    limiter.tryAcquire();
    limiter.release(80 + (i % 5), false, (now += 5), before, 60);
  }
  assert.equal(limiter.limit, before, 'a starved proxy neither shrinks nor grows the limit');
  // the same answers without the lag discount are an overload
  const naive = createConcurrencyLimiter(DEFAULT_LIMITER_OPTIONS);
  learnBaseline(naive, 20);
  for (let i = 0; i < 300; i++) {
    naive.tryAcquire();
    naive.release(80 + (i % 5), false, (now += 5), before);
  }
  assert.ok(naive.limit < before, 'control: without the lag the limit backs off');
  // a small lag (a quarter of the no-load latency at most) is subtracted, and the limit still learns
  const slightlyLate = createConcurrencyLimiter(DEFAULT_LIMITER_OPTIONS);
  learnBaseline(slightlyLate, 20);
  for (let i = 0; i < 300; i++) {
    slightlyLate.tryAcquire();
    slightlyLate.release(21 + (i % 5), false, (now += 5), before, 4);
  }
  assert.ok(slightlyLate.limit > before, `limit ${slightlyLate.limit} should grow from ${before} while it is used and fast`);
  // an overestimated lag makes a light-load answer look like 0 ms; it must not become the baseline
  const fresh = createConcurrencyLimiter(DEFAULT_LIMITER_OPTIONS);
  fresh.tryAcquire();
  fresh.release(20, false, 0, 1, 30);
  assert.equal(fresh.baselineMs, Number.POSITIVE_INFINITY);
});
