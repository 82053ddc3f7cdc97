// Each strategy's distribution through the real proxy: the `sibyl` binary in front of real backends,
// counting what each backend received.
import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import { test, type TestContext } from 'node:test';
import { backendsToml, startTestBackend, type TestBackend } from '../helpers/backends.ts';
import { testConfig } from '../helpers/sibyl-control.ts';
import { startSibyl, type SibylProcess } from '../helpers/sibyl-process.ts';
import { describeLoad, runLoad } from '../helpers/steady-load.ts';

function answer(res: ServerResponse, name: string, status = 200): void {
  res.writeHead(status, { 'content-type': 'text/plain', 'x-served-by': name });
  res.end(name);
}

/** A backend that answers 200 after delayMs(n), n = how many requests it saw before this one. */
function delayedBackend(name: string, delayMs: (n: number) => number): Promise<TestBackend> {
  let n = 0;
  return startTestBackend(name, (_req, res) => {
    setTimeout(() => answer(res, name), delayMs(n++));
  });
}

async function serve(t: TestContext, algorithm: string, backends: TestBackend[], options: { weights?: number[]; sections?: string } = {}): Promise<SibylProcess> {
  t.after(() => Promise.all(backends.map((b) => b.close())));
  // Active health checks are left at their 10 s default: they never fail here and would only add noise.
  const sibyl = await startSibyl(testConfig(`[strategy]\nalgorithm = "${algorithm}"\n${options.sections ?? ''}\n\n${backendsToml(backends, options.weights)}`));
  t.after(() => sibyl.stop());
  return sibyl;
}

function counts(backends: readonly TestBackend[]): Record<string, number> {
  return Object.fromEntries(backends.map((b) => [b.name, b.seen.length]));
}

function assertWithin(actual: number, expected: number, tolerance: number, what: string): void {
  assert.ok(Math.abs(actual - expected) <= tolerance, `${what}: ${actual}, expected ${expected} +- ${tolerance}`);
}

test('round_robin spreads 600 requests evenly over 3 backends (+-5 %)', async (t) => {
  const backends = await Promise.all(['a', 'b', 'c'].map((n) => startTestBackend(n)));
  const sibyl = await serve(t, 'round_robin', backends);
  const result = await runLoad(sibyl.proxyUrl, { concurrency: 6, maxRequests: 600, maxDurationMs: 15_000 });
  assert.equal(result.statuses.get(200), 600, describeLoad(result));
  for (const b of backends) assertWithin(b.seen.length, 200, 30, `requests to ${b.name}`);
});

test('weighted_round_robin splits 3:1 by weight', async (t) => {
  const backends = await Promise.all(['heavy', 'light'].map((n) => startTestBackend(n)));
  const sibyl = await serve(t, 'weighted_round_robin', backends, { weights: [3, 1] });
  const result = await runLoad(sibyl.proxyUrl, { concurrency: 4, maxRequests: 400, maxDurationMs: 15_000 });
  assert.equal(result.statuses.get(200), 400, describeLoad(result));
  assertWithin(backends[0]!.seen.length, 300, 20, 'requests to the weight-3 backend');
  assertWithin(backends[1]!.seen.length, 100, 20, 'requests to the weight-1 backend');
});

test('least_connections sends most concurrent requests to the backend with fewer in flight', async (t) => {
  const fast = await startTestBackend('fast');
  const slow = await delayedBackend('slow', () => 150);
  const sibyl = await serve(t, 'least_connections', [fast, slow]);
  const result = await runLoad(sibyl.proxyUrl, { concurrency: 8, maxRequests: 300, maxDurationMs: 15_000 });
  assert.equal(result.statuses.get(200), 300, describeLoad(result));
  assert.ok(slow.seen.length >= 1, 'the slow backend still gets requests when it has the fewest in flight');
  t.diagnostic(JSON.stringify(counts([fast, slow])));
  assert.ok(fast.seen.length >= 0.8 * 300, `the fast backend should get >= 80 %: ${JSON.stringify(counts([fast, slow]))}`);
});

test('ip_hash with hash_key "header:x-user": one user always lands on one backend, users spread', async (t) => {
  const backends = await Promise.all(['a', 'b', 'c'].map((n) => startTestBackend(n)));
  const sibyl = await serve(t, 'ip_hash', backends, { sections: 'hash_key = "header:x-user"' });
  const users = Array.from({ length: 30 }, (_, i) => `user-${i}`);
  const servedBy = new Map<string, Set<string>>(users.map((u) => [u, new Set()]));
  // every request of this test comes from 127.0.0.1: only the header can spread them
  const result = await runLoad(sibyl.proxyUrl, { concurrency: 4, maxRequests: users.length * 4, maxDurationMs: 15_000, headers: (i) => ({ 'x-user': users[i % users.length]! }) });
  assert.equal(result.statuses.get(200), users.length * 4, describeLoad(result));
  for (const b of backends) for (const seen of b.seen) servedBy.get(String(seen.headers['x-user']))?.add(b.name);
  for (const [user, names] of servedBy) assert.equal(names.size, 1, `${user} was served by ${[...names].join(', ')}`);
  const usersPerBackend = backends.map((b) => [...servedBy.values()].filter((names) => names.has(b.name)).length);
  for (const [i, n] of usersPerBackend.entries()) assert.ok(n >= 3, `backend ${backends[i]!.name} got ${n} of 30 users: ${usersPerBackend.join(', ')}`);
});

for (const algorithm of ['fastest_response_time', 'power_of_two', 'adaptive']) {
  test(`${algorithm} prefers a 1 ms backend over a 40 ms one by a clear majority`, async (t) => {
    const fast = await delayedBackend('fast', () => 1);
    const slow = await delayedBackend('slow', () => 40);
    // A short half-life so that a cold-start spike (the very first proxied request is slow) fades
    // within the run; a time-bounded run, so a backend that serves fast also serves more.
    const sibyl = await serve(t, algorithm, [fast, slow], { sections: 'ewma_half_life = "1s"' });
    const result = await runLoad(sibyl.proxyUrl, { concurrency: 2, maxRequests: 2000, maxDurationMs: 2000 });
    assert.equal(result.statuses.get(200), result.total, describeLoad(result));
    t.diagnostic(JSON.stringify(counts([fast, slow])));
    // an even split would serve about as many requests on each (two loops, each waiting 40 ms on every slow one)
    assert.ok(fast.seen.length >= 0.75 * result.total, `the fast backend should get >= 75 %: ${JSON.stringify(counts([fast, slow]))}`);
  });
}

test('random spreads 600 requests roughly evenly over 3 backends', async (t) => {
  const backends = await Promise.all(['a', 'b', 'c'].map((n) => startTestBackend(n)));
  const sibyl = await serve(t, 'random', backends);
  const result = await runLoad(sibyl.proxyUrl, { concurrency: 6, maxRequests: 600, maxDurationMs: 15_000 });
  assert.equal(result.statuses.get(200), 600, describeLoad(result));
  // binomial(600, 1/3): sd ~ 11.5, so +-60 is over 5 sd (a failure is a real skew, not bad luck)
  for (const b of backends) assertWithin(b.seen.length, 200, 60, `requests to ${b.name}`);
});

test('adaptive prefers a healthy slower backend over one that fails fast with 500', async (t) => {
  const healthy = await delayedBackend('healthy', () => 10);
  const failing = await startTestBackend('failing', (_req, res) => answer(res, 'failing', 500));
  // outlier detection off: the strategy alone must avoid the failing backend
  const sibyl = await serve(t, 'adaptive', [healthy, failing], { sections: '[outlier_detection]\nenabled = false' });
  const result = await runLoad(sibyl.proxyUrl, { concurrency: 2, maxRequests: 200, maxDurationMs: 15_000 });
  assert.ok((result.statuses.get(200) ?? 0) >= 0.9 * 200, `clients should mostly get 200: ${describeLoad(result)}`);
  assert.ok(healthy.seen.length >= 0.9 * 200, `the healthy backend should get >= 90 %: ${JSON.stringify(counts([healthy, failing]))}`);
});

// A latency or error estimate must fade when its backend gets no samples (Finagle's and Linkerd's
// peak EWMA decay on read): otherwise one hiccup starves a backend forever, since a backend that
// is never picked never gets the sample that would clear its record.
for (const algorithm of ['fastest_response_time', 'power_of_two']) {
  test(`${algorithm} comes back to the fast backend after one slow response from it`, async (t) => {
    const fast = await delayedBackend('fast', (n) => (n === 0 ? 150 : 1));
    const slow = await delayedBackend('slow', () => 40);
    const sibyl = await serve(t, algorithm, [fast, slow], { sections: 'ewma_half_life = "300ms"' });
    const result = await runLoad(sibyl.proxyUrl, { concurrency: 1, maxRequests: 2000, maxDurationMs: 2500 });
    assert.equal(result.statuses.get(200), result.total, describeLoad(result));
    t.diagnostic(JSON.stringify(counts([fast, slow])));
    assert.ok(fast.seen.length > slow.seen.length, `the fast backend should serve most requests again: ${JSON.stringify(counts([fast, slow]))}`);
  });
}

test('adaptive comes back to a backend once its 500s stop', async (t) => {
  const flaky = await startTestBackend('flaky', (_req, res) => answer(res, 'flaky', flaky.seen.length <= 3 ? 500 : 200));
  const steady = await delayedBackend('steady', () => 20);
  const sibyl = await serve(t, 'adaptive', [flaky, steady], { sections: 'ewma_half_life = "300ms"\n\n[outlier_detection]\nenabled = false' });
  const result = await runLoad(sibyl.proxyUrl, { concurrency: 1, maxRequests: 2000, maxDurationMs: 2500 });
  t.diagnostic(JSON.stringify(counts([flaky, steady])));
  assert.ok(flaky.seen.length > steady.seen.length, `the recovered (and faster) backend should serve most requests again: ${JSON.stringify(counts([flaky, steady]))} ${describeLoad(result)}`);
});
