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

test('the no-load latency comes from light-load answers; busy answers neither lower nor raise it', () => {
  const limiter = createConcurrencyLimiter({ ...DEFAULT_LIMITER_OPTIONS, initialLimit: 40 });
  assert.equal(limiter.baselineMs, Number.POSITIVE_INFINITY);
  limiter.tryAcquire();
  limiter.release(12, false, 0, 1);
  assert.equal(limiter.baselineMs, 12, 'alone on the backend: no-load');
  learnBaseline(limiter, 12);
  for (let i = 0; i < 30; i++) limiter.tryAcquire();
  for (let i = 0; i < 30; i++) limiter.release(3, false, 2000 + i, 30);
  for (let i = 0; i < 30; i++) limiter.tryAcquire();
  for (let i = 0; i < 30; i++) limiter.release(300, false, 3000 + i, 30);
  assert.equal(limiter.baselineMs, 12, 'answers under load say nothing about the no-load latency');
});

test('a backend never lightly loaded still gets a no-load latency: the fastest of its answers', () => {
  const limiter = createConcurrencyLimiter({ ...DEFAULT_LIMITER_OPTIONS, initialLimit: 16 });
  for (let i = 0; i < 19; i++) {
    limiter.tryAcquire();
    limiter.release(40 + i, false, i, 16);
  }
  assert.equal(limiter.baselineMs, Number.POSITIVE_INFINITY, 'not yet: 19 answers');
  limiter.tryAcquire();
  limiter.release(45, false, 20, 16);
  assert.equal(limiter.baselineMs, 40);
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

test('before enough answers, latency alone shrinks nothing', () => {
  const limiter = createConcurrencyLimiter({ ...DEFAULT_LIMITER_OPTIONS, initialLimit: 40 });
  learnBaseline(limiter, 1, 5);
  for (let i = 0; i < 14; i++) limiter.release(500, false, 100 + i * 10, 30);
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

/**
 * An overload as the live experiment makes it, in virtual time: a backend with `slots` workers and
 * its own FIFO queue, each request taking 40-80 ms of work; Poisson arrivals at 60 % of its
 * capacity for 5 s (the no-load latency is learned), then at 130 %. Requests beyond the limit wait
 * in the proxy. Returns the limit every 100 ms of the overload.
 */
function overload(slots: number, initialLimit: number, seed: number): number[] {
  let state = seed;
  const random = (): number => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
  const limiter = createConcurrencyLimiter({ ...DEFAULT_LIMITER_OPTIONS, initialLimit: Math.max(initialLimit, DEFAULT_LIMITER_OPTIONS.minLimit) });
  const capacityPerMs = slots / 60;
  const events: { at: number; run: () => void }[] = [];
  const at = (time: number, run: () => void): void => {
    let i = events.length;
    while (i > 0 && events[i - 1]!.at > time) i--;
    events.splice(i, 0, { at: time, run });
  };
  let now = 0;
  let busy = 0;
  const backendQueue: (() => void)[] = [];
  const proxyQueue: number[] = [];
  const serve = (done: () => void): void => {
    busy++;
    at(now + 40 + 40 * random(), () => {
      busy--;
      // the backend takes the next of its own queue before the proxy sends anything new
      const next = backendQueue.shift();
      if (next !== undefined) serve(next);
      done();
    });
  };
  const send = (): void => {
    const sentAt = now;
    const load = limiter.inFlight;
    const done = (): void => {
      limiter.release(now - sentAt, false, now, load);
      while (proxyQueue.length > 0 && limiter.tryAcquire()) {
        proxyQueue.shift();
        send();
      }
    };
    if (busy < slots) serve(done);
    else backendQueue.push(done);
  };
  const arrive = (): void => {
    if (limiter.tryAcquire()) send();
    else proxyQueue.push(now);
  };
  const OVERLOAD_AT = 5000;
  const END = OVERLOAD_AT + 10_000;
  const schedule = (): void => {
    const rate = (now < OVERLOAD_AT ? 0.6 : 1.3) * capacityPerMs;
    at(now - Math.log(1 - random()) / rate, () => {
      arrive();
      if (now < END) schedule();
    });
  };
  schedule();
  const limits: number[] = [];
  for (let t = OVERLOAD_AT; t <= END; t += 100) at(t, () => limits.push(limiter.limit));
  while (events.length > 0) {
    const e = events.shift()!;
    now = e.at;
    e.run();
  }
  return limits;
}

test('an overload brings the limit to the backend\'s concurrency within 3 s, from any starting limit (backends of 2, 8 and 64 slots)', () => {
  for (const slots of [2, 8, 64]) {
    for (const initialLimit of [2, 16, 64]) {
      for (const seed of [1, 2, 3]) {
        const limits = overload(slots, initialLimit, seed);
        // from 3 s into the overload on: between the backend's slots and tolerance x them, with a
        // step of slack either side (the limit probes by one)
        const settled = limits.slice(30);
        const low = Math.max(DEFAULT_LIMITER_OPTIONS.minLimit, slots - 1);
        const high = Math.ceil(DEFAULT_LIMITER_OPTIONS.tolerance * slots) + 2;
        const outside = settled.filter((l) => l < low || l > high);
        assert.equal(outside.length, 0, `${slots} slots, initial limit ${initialLimit}, seed ${seed}: limits after 3 s ${JSON.stringify(settled)}`);
      }
    }
  }
});
