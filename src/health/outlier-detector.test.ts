import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { createOutlierDetector, tightenedLimit } from './outlier-detector.ts';
import type { OutlierDetectorOptions, OutlierEvent } from './outlier-detector.ts';
import type { Outcome } from '../core/outcome.ts';

const ok: Outcome = { status: 200, errorKind: 'none', latencyMs: 5 };
const notFound: Outcome = { status: 404, errorKind: 'none', latencyMs: 5 };
const internalError: Outcome = { status: 500, errorKind: 'none', latencyMs: 5 };
const badGateway: Outcome = { status: 502, errorKind: 'none', latencyMs: 5 };
const refused: Outcome = { status: 0, errorKind: 'refused', latencyMs: 1 };
const clientAborted: Outcome = { status: 0, errorKind: 'aborted', latencyMs: 1 };

const defaults: OutlierDetectorOptions = {
  consecutive5xx: 3,
  consecutiveGatewayFailure: 0,
  baseEjectionTimeMs: 1000,
  maxEjectionTimeMs: 10_000,
  maxEjectionPercent: 100,
};

function detector(patch: Partial<OutlierDetectorOptions> = {}, members = ['a', 'b', 'c', 'd']) {
  const events: OutlierEvent[] = [];
  const d = createOutlierDetector({ ...defaults, ...patch }, { onEvent: (e) => events.push(e) });
  d.setMembers(members);
  return { d, events };
}

function fail(d: ReturnType<typeof detector>['d'], id: string, times: number, now: number, outcome = internalError) {
  let last: 'ejected' | undefined;
  for (let i = 0; i < times; i++) last = d.record(id, outcome, now);
  return last;
}

test('consecutive 5xx eject a backend at the threshold, not before', () => {
  const { d, events } = detector();
  assert.equal(fail(d, 'a', 2, 0), undefined);
  assert.equal(d.isEjected('a', 0), false);
  assert.equal(d.record('a', internalError, 0), 'ejected');
  assert.equal(d.isEjected('a', 0), true);
  assert.equal(d.ejectedCount(0), 1);
  assert.deepEqual(events, [{ type: 'ejected', id: 'a', rule: 'consecutive_5xx', ejectedUntil: 1000 }]);
});

test('a success or a 4xx resets the count; a transport error counts as 5xx', () => {
  const { d } = detector();
  fail(d, 'a', 2, 0);
  d.record('a', ok, 0);
  fail(d, 'a', 2, 0);
  d.record('a', notFound, 0);
  assert.equal(fail(d, 'a', 2, 0), undefined);
  assert.equal(d.record('a', refused, 0), 'ejected');
});

test('a client abort neither counts nor resets', () => {
  const { d } = detector();
  fail(d, 'a', 2, 0);
  d.record('a', clientAborted, 0);
  assert.equal(d.record('a', internalError, 0), 'ejected');
});

test('consecutive gateway failures have their own threshold; a plain 500 breaks the run', () => {
  const { d, events } = detector({ consecutive5xx: 0, consecutiveGatewayFailure: 2 });
  d.record('a', badGateway, 0);
  d.record('a', internalError, 0);
  assert.equal(d.record('a', badGateway, 0), undefined);
  assert.equal(d.record('a', refused, 0), 'ejected');
  assert.equal(events[0]?.type === 'ejected' && events[0].rule, 'consecutive_gateway_failure');
});

test('a threshold of 0 disables its rule', () => {
  const { d } = detector({ consecutive5xx: 0, consecutiveGatewayFailure: 0 });
  assert.equal(fail(d, 'a', 100, 0, badGateway), undefined);
  assert.equal(d.isEjected('a', 0), false);
});

test('the ejection ends after baseEjectionTimeMs and sweep reports it once', () => {
  const { d, events } = detector();
  fail(d, 'a', 3, 0);
  assert.deepEqual(d.sweep(999), []);
  assert.equal(d.isEjected('a', 999), true);
  assert.equal(d.isEjected('a', 1000), false);
  assert.deepEqual(d.sweep(1000), ['a']);
  assert.deepEqual(d.sweep(1001), []);
  assert.deepEqual(events.at(-1), { type: 'unejected', id: 'a' });
});

test('outcomes recorded while ejected are ignored: late failures do not extend the ejection', () => {
  const { d } = detector();
  fail(d, 'a', 3, 0);
  assert.equal(fail(d, 'a', 10, 500), undefined);
  assert.equal(d.isEjected('a', 1000), false);
  // The count starts from zero after the ejection.
  assert.equal(fail(d, 'a', 2, 1000), undefined);
  assert.equal(d.snapshot(1000).find((s) => s.id === 'a')?.consecutive5xx, 2);
});

test('each ejection lasts longer, up to maxEjectionTimeMs', () => {
  const { d } = detector({ maxEjectionTimeMs: 2500 });
  let now = 0;
  const durations: number[] = [];
  for (let i = 0; i < 4; i++) {
    fail(d, 'a', 3, now);
    const until = d.snapshot(now).find((s) => s.id === 'a')?.ejectedUntil ?? Number.NaN;
    durations.push(until - now);
    now = until;
  }
  assert.deepEqual(durations, [1000, 2000, 2500, 2500]);
});

test('the multiplier decays by one per base ejection time spent healthy', () => {
  const { d } = detector();
  fail(d, 'a', 3, 0); // ejected until 1000, times 1
  fail(d, 'a', 3, 1000); // until 3000, times 2
  fail(d, 'a', 3, 3000); // until 6000, times 3
  const times = (now: number) => d.snapshot(now).find((s) => s.id === 'a')?.timesEjected;
  assert.equal(times(6000), 3);
  assert.equal(times(6999), 3);
  assert.equal(times(7000), 2);
  d.sweep(7500); // sweeping late does not restart the decay
  assert.equal(times(8000), 1);
  assert.equal(times(100_000), 0);
  // Healthy for 1.5 base times since 6000: multiplier 3 - 1 = 2, so the next ejection is 3x.
  fail(d, 'a', 3, 7500);
  assert.equal(d.snapshot(7500).find((s) => s.id === 'a')?.ejectedUntil, 7500 + 3000);
});

test('maxEjectionPercent caps how many backends are ejected at once', () => {
  const { d, events } = detector({ maxEjectionPercent: 50 });
  assert.equal(fail(d, 'a', 3, 0), 'ejected');
  assert.equal(fail(d, 'b', 3, 0), 'ejected');
  assert.equal(fail(d, 'c', 3, 0), undefined);
  assert.equal(d.isEjected('c', 0), false);
  assert.deepEqual(events.at(-1), { type: 'ejection_overflow', id: 'c', rule: 'consecutive_5xx' });
  // A refused ejection needs a whole new run of failures once room is back.
  assert.equal(fail(d, 'c', 2, 1000), undefined);
  assert.equal(d.record('c', internalError, 1000), 'ejected');
});

test('maxEjectionPercent below one backend share never ejects (no Envoy always_eject_one_host)', () => {
  const { d } = detector({ maxEjectionPercent: 10 }, ['a', 'b', 'c']);
  assert.equal(fail(d, 'a', 3, 0), undefined);
});

test('setMembers drops the state of backends that left and ignores unknown ids', () => {
  const { d } = detector();
  fail(d, 'a', 3, 0);
  d.setMembers(['b', 'c', 'e']);
  assert.equal(d.isEjected('a', 0), false);
  assert.deepEqual(d.snapshot(0).map((s) => s.id), ['b', 'c', 'e']);
  assert.equal(fail(d, 'zz', 10, 0), undefined);
  assert.equal(d.snapshot(0).length, 3);
  assert.deepEqual(d.sweep(5000), []);
});

test('setMembers keeps the state of backends that stay', () => {
  const { d } = detector();
  fail(d, 'a', 3, 0);
  fail(d, 'b', 2, 0);
  d.setMembers(['a', 'b']);
  assert.equal(d.isEjected('a', 0), true);
  assert.equal(d.record('b', internalError, 0), 'ejected');
});

test('snapshot reports the state of every member', () => {
  const { d } = detector({ consecutiveGatewayFailure: 5 }, ['a', 'b']);
  fail(d, 'a', 3, 0);
  fail(d, 'b', 2, 0, badGateway);
  assert.deepEqual(d.snapshot(10), [
    { id: 'a', isEjected: true, ejectedUntil: 1000, timesEjected: 1, consecutive5xx: 0, consecutiveGatewayFailure: 0 },
    { id: 'b', isEjected: false, ejectedUntil: undefined, timesEjected: 0, consecutive5xx: 2, consecutiveGatewayFailure: 2 },
  ]);
});

test('invalid options are rejected', () => {
  assert.throws(() => createOutlierDetector({ ...defaults, baseEjectionTimeMs: 0 }), RangeError);
  assert.throws(() => createOutlierDetector({ ...defaults, maxEjectionPercent: 101 }), RangeError);
  assert.throws(() => createOutlierDetector({ ...defaults, consecutive5xx: -1 }), RangeError);
});

test('property: never more than maxEjectionPercent ejected; no ejection outlives maxEjectionTimeMs', () => {
  const outcome = fc.constantFrom(ok, internalError, badGateway, refused, clientAborted);
  const step = fc.record({ id: fc.constantFrom('a', 'b', 'c', 'd', 'e'), outcome, dt: fc.integer({ min: 0, max: 400 }) });
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 100 }), fc.array(step, { maxLength: 200 }), (maxEjectionPercent, steps) => {
      const d = createOutlierDetector({ consecutive5xx: 2, consecutiveGatewayFailure: 1, baseEjectionTimeMs: 300, maxEjectionTimeMs: 1000, maxEjectionPercent });
      d.setMembers(['a', 'b', 'c', 'd', 'e']);
      let now = 0;
      for (const { id, outcome: o, dt } of steps) {
        now += dt;
        if (dt > 200) d.sweep(now);
        d.record(id, o, now);
        assert.ok(d.ejectedCount(now) * 100 <= maxEjectionPercent * 5);
        for (const s of d.snapshot(now)) {
          if (s.ejectedUntil !== undefined) assert.ok(s.ejectedUntil - now <= 1000);
        }
      }
    }),
  );
});

test('tightenedLimit: scaled by (1 - predicted retry share), never below 2, never above the limit', () => {
  assert.equal(tightenedLimit(5, 0), 5);
  assert.equal(tightenedLimit(5, 0.5), 3);
  assert.equal(tightenedLimit(5, 0.9), 2);
  assert.equal(tightenedLimit(5, 1), 2);
  assert.equal(tightenedLimit(1, 0.9), 1, 'a threshold already below 2 stays');
  assert.equal(tightenedLimit(0, 0.9), 0, 'a disabled rule stays disabled');
});

test('a backend whose failures clients retry is ejected sooner when tightening is on, and only then', () => {
  const fails = (d: ReturnType<typeof detector>['d'], share: number): number => {
    for (let n = 1; n <= 10; n++) if (d.record('a', internalError, n, share) === 'ejected') return n;
    return Number.POSITIVE_INFINITY;
  };
  assert.equal(fails(detector({ consecutive5xx: 5, isTightenedByPredictedRetries: true }).d, 0.8), 2);
  assert.equal(fails(detector({ consecutive5xx: 5, isTightenedByPredictedRetries: true }).d, 0), 5);
  assert.equal(fails(detector({ consecutive5xx: 5, isTightenedByPredictedRetries: false }).d, 0.8), 5);
});
