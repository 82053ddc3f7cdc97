import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ManualClock, systemClock } from '../core/clock.ts';
import { createSeededRng } from '../core/rng.ts';
import type { Rng } from '../core/rng.ts';
import { ActiveHealthChecker } from './active-checker.ts';
import type { ActiveHealthCheckerOptions, HealthCheckTarget } from './active-checker.ts';
import { createHttpProbe } from './http-probe.ts';
import { createTcpProbe } from './tcp-probe.ts';
import type { HealthProbe, ProbeTarget } from './probe.ts';

interface Call {
  readonly target: ProbeTarget;
  readonly signal: AbortSignal;
  resolve(healthy: boolean): void;
}

/** A probe answered by the test; an abort answers false, as real probes do. */
function scriptedProbe(): { probe: HealthProbe; calls: Call[] } {
  const calls: Call[] = [];
  const probe: HealthProbe = {
    check(target, signal) {
      return new Promise((resolve) => {
        calls.push({ target, signal, resolve });
        signal.addEventListener('abort', () => resolve(false), { once: true });
      });
    },
  };
  return { probe, calls };
}

const flush = () => new Promise((resolve) => setImmediate(resolve));
const fixedRng = (value: number): Rng => ({ next: () => value });

function manualChecker(options: Partial<ActiveHealthCheckerOptions> = {}, rng: Rng = fixedRng(0.5)) {
  const clock = new ManualClock();
  const { probe, calls } = scriptedProbe();
  const results: [string, boolean][] = [];
  const checker = new ActiveHealthChecker(
    { intervalMs: 1000, timeoutMs: 300, jitterFraction: 0.2, ...options },
    { clock, rng, probe, onResult: (id, success) => results.push([id, success]) },
  );
  return { clock, calls, results, checker };
}

const a: HealthCheckTarget = { id: 'a', host: '10.0.0.1', port: 80 };
const b: HealthCheckTarget = { id: 'b', host: '10.0.0.2', port: 80 };

test('first check within a jittered slice of the interval, then every interval after the answer', async () => {
  const { clock, calls, results, checker } = manualChecker();
  checker.setTargets([a]);
  checker.start();
  clock.advance(99);
  assert.equal(calls.length, 0);
  clock.advance(1); // 0.5 * 0.2 * 1000
  assert.equal(calls.length, 1);
  clock.advance(50);
  calls[0]?.resolve(true);
  await flush();
  assert.deepEqual(results, [['a', true]]);
  clock.advance(999);
  assert.equal(calls.length, 1);
  clock.advance(1);
  assert.equal(calls.length, 2);
  await checker.stop();
});

test('jitter keeps intervals within intervalMs ± jitterFraction', async () => {
  const { clock, calls, checker } = manualChecker({ jitterFraction: 0.5 }, createSeededRng(7));
  checker.setTargets([a]);
  checker.start();
  const starts: number[] = [];
  while (calls.length < 20) {
    const before = calls.length;
    clock.advance(1);
    if (calls.length > before) {
      starts.push(clock.now());
      calls.at(-1)?.resolve(true);
      await flush();
    }
  }
  const gaps = starts.slice(1).map((t, i) => t - (starts[i] ?? 0));
  assert.ok(gaps.every((g) => g >= 500 && g <= 1501), String(gaps));
  assert.ok(new Set(gaps).size > 1, 'intervals are jittered');
  await checker.stop();
});

test('a probe that does not answer in timeoutMs is aborted and reported as a failure', async () => {
  const { clock, calls, results, checker } = manualChecker();
  checker.setTargets([a]);
  checker.start();
  clock.advance(100);
  clock.advance(299);
  assert.equal(calls[0]?.signal.aborted, false);
  clock.advance(1);
  assert.equal(calls[0]?.signal.aborted, true);
  await flush();
  assert.deepEqual(results, [['a', false]]);
  await checker.stop();
});

test('two probes of one target never overlap, even when the timeout exceeds the interval', async () => {
  const { clock, calls, checker } = manualChecker({ intervalMs: 100, timeoutMs: 10_000, jitterFraction: 0 });
  checker.setTargets([a]);
  checker.start();
  clock.advance(5000);
  await flush();
  assert.equal(calls.length, 1);
  calls[0]?.resolve(true);
  await flush();
  clock.advance(100);
  assert.equal(calls.length, 2);
  await checker.stop();
});

test('setTargets keeps unchanged schedules, starts new targets, stops removed ones', async () => {
  const { clock, calls, results, checker } = manualChecker({ jitterFraction: 0 });
  checker.setTargets([a, b]);
  checker.start();
  clock.advance(0);
  assert.deepEqual(calls.map((c) => c.target), [a, b]);
  calls[0]?.resolve(true);
  await flush();
  const c: HealthCheckTarget = { id: 'c', host: '10.0.0.3', port: 80 };
  checker.setTargets([{ ...a }, c]); // b removed while its probe is in flight
  assert.equal(calls[1]?.signal.aborted, true);
  clock.advance(0);
  assert.deepEqual(calls.map((x) => x.target.host), [a.host, b.host, c.host], 'a is not probed again early');
  await flush();
  assert.deepEqual(results, [['a', true]], 'the aborted probe of a removed target is not reported');
  clock.advance(1000);
  assert.deepEqual(calls.map((x) => x.target.host), [a.host, b.host, c.host, a.host]);
  await checker.stop();
});

test('a target whose address changed is probed afresh at the new address', async () => {
  const { clock, calls, results, checker } = manualChecker({ jitterFraction: 0 });
  checker.setTargets([a]);
  checker.start();
  clock.advance(0);
  const moved = { ...a, port: 8080 };
  checker.setTargets([moved]);
  assert.equal(calls[0]?.signal.aborted, true);
  clock.advance(0);
  assert.deepEqual(calls[1]?.target, moved);
  calls[1]?.resolve(true);
  await flush();
  assert.deepEqual(results, [['a', true]]);
  await checker.stop();
});

test('a duplicated id is probed once, at its first address', async () => {
  const { clock, calls, checker } = manualChecker({ jitterFraction: 0 });
  checker.start();
  checker.setTargets([a, { ...a, port: 9 }]);
  clock.advance(0);
  assert.deepEqual(calls.map((x) => x.target), [a]);
  checker.setTargets([]);
  clock.advance(10_000);
  assert.equal(calls.length, 1);
  await checker.stop();
});

test('stop aborts in-flight probes, waits for them, and nothing is reported afterwards', async () => {
  const clock = new ManualClock();
  let isSettled = false;
  const probe: HealthProbe = {
    check: (_target, signal) =>
      new Promise((resolve) => {
        signal.addEventListener('abort', () =>
          setImmediate(() => {
            isSettled = true;
            resolve(false);
          }),
        );
      }),
  };
  const results: boolean[] = [];
  const checker = new ActiveHealthChecker(
    { intervalMs: 1000, timeoutMs: 500, jitterFraction: 0 },
    { clock, rng: fixedRng(0), probe, onResult: (_id, s) => results.push(s) },
  );
  checker.setTargets([a]);
  checker.start();
  clock.advance(0);
  await checker.stop();
  assert.equal(isSettled, true);
  clock.advance(10_000);
  await flush();
  assert.deepEqual(results, []);
});

test('targets set before start are not probed until start; start after stop resumes', async () => {
  const { clock, calls, checker } = manualChecker({ jitterFraction: 0 });
  checker.setTargets([a]);
  clock.advance(5000);
  assert.equal(calls.length, 0);
  checker.start();
  clock.advance(0);
  assert.equal(calls.length, 1);
  await checker.stop();
  checker.start();
  clock.advance(0);
  assert.equal(calls.length, 2);
  await checker.stop();
});

test('a probe that throws counts as a failure and the schedule goes on', async () => {
  const clock = new ManualClock();
  const results: boolean[] = [];
  const probe: HealthProbe = {
    check: () => Promise.reject(new Error('buggy probe')),
  };
  const checker = new ActiveHealthChecker(
    { intervalMs: 1000, timeoutMs: 500, jitterFraction: 0 },
    { clock, rng: fixedRng(0), probe, onResult: (_id, s) => results.push(s) },
  );
  checker.setTargets([a]);
  checker.start();
  clock.advance(0);
  await flush();
  clock.advance(1000);
  await flush();
  assert.deepEqual(results, [false, false]);
  await checker.stop();
});

test('invalid options are rejected', () => {
  const deps = { clock: new ManualClock(), rng: fixedRng(0), probe: scriptedProbe().probe, onResult: () => {} };
  assert.throws(() => new ActiveHealthChecker({ intervalMs: 0, timeoutMs: 1, jitterFraction: 0 }, deps), RangeError);
  assert.throws(() => new ActiveHealthChecker({ intervalMs: 1, timeoutMs: 1, jitterFraction: 1.5 }, deps), RangeError);
});

// Real sockets and the system clock from here on.

async function waitFor(condition: () => boolean, what: string, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const { port } = s.address() as AddressInfo;
  await new Promise((resolve) => s.close(resolve));
  return port;
}

function realChecker(probe: HealthProbe) {
  const results: [string, boolean][] = [];
  const checker = new ActiveHealthChecker(
    { intervalMs: 20, timeoutMs: 200, jitterFraction: 0.2 },
    { clock: systemClock, rng: createSeededRng(1), probe, onResult: (id, success) => results.push([id, success]) },
  );
  const last = (id: string) => results.findLast(([x]) => x === id)?.[1];
  const count = (id: string) => results.filter(([x]) => x === id).length;
  return { checker, results, last, count };
}

test('HTTP checks against a real server follow it going bad and a closed port', async () => {
  let status = 200;
  const server = createServer((_req, res) => {
    res.statusCode = status;
    res.end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const { checker, last, count } = realChecker(createHttpProbe({ path: '/health', expectedStatusMin: 200, expectedStatusMax: 299 }));
  try {
    checker.setTargets([
      { id: 'live', host: '127.0.0.1', port },
      { id: 'dead', host: '127.0.0.1', port: await closedPort() },
    ]);
    checker.start();
    await waitFor(() => count('live') >= 2 && count('dead') >= 2, 'two rounds of checks');
    assert.equal(last('live'), true);
    assert.equal(last('dead'), false);
    status = 500;
    const before = count('live');
    await waitFor(() => count('live') > before + 1, 'checks after the server went bad');
    assert.equal(last('live'), false);
    status = 200;
    await waitFor(() => last('live') === true, 'recovery');
  } finally {
    await checker.stop();
    server.closeAllConnections();
    server.close();
  }
});

test('TCP checks against a real listening socket and a closed port', async () => {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const { checker, last, count } = realChecker(createTcpProbe());
  try {
    checker.setTargets([
      { id: 'live', host: '127.0.0.1', port },
      { id: 'dead', host: '127.0.0.1', port: await closedPort() },
    ]);
    checker.start();
    await waitFor(() => count('live') >= 2 && count('dead') >= 2, 'two rounds of checks');
    assert.equal(last('live'), true);
    assert.equal(last('dead'), false);
  } finally {
    await checker.stop();
    server.close();
  }
});

test('stop with a real probe in flight returns once it is aborted', async () => {
  let isRequestSeen = false;
  const server = createServer(() => {
    isRequestSeen = true; // never answers
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const { checker, results } = realChecker(createHttpProbe({ path: '/', expectedStatusMin: 200, expectedStatusMax: 299 }));
  try {
    checker.setTargets([{ id: 'slow', host: '127.0.0.1', port }]);
    checker.start();
    await waitFor(() => isRequestSeen, 'the probe to reach the server');
    await checker.stop();
    assert.deepEqual(results, []);
  } finally {
    server.closeAllConnections();
    server.close();
  }
});
