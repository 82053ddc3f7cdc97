// The live tight-concurrency figures and issue #20's Done-when checks, on hand-made records.
// Run: node --test bench/storm/ (bench/ is not in `npm test`'s globs).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatChecks, tightConcurrencyChecks } from './done-when.ts';
import { analyseRun, type CallRecord } from './live-analysis.ts';
import type { LiveRun } from './run.ts';

const timeline = { warmupMs: 0, beforeMs: 1_000, duringMs: 2_000, afterMs: 1_000 };

test('goodput by completion counts successes that ended in the phase; p99 of all counts failures too', () => {
  const records: CallRecord[] = [
    [500, 1_200, 1, 1], // arrived before, ended during: goodput during by completion, not by arrival
    [1_100, 1_300, 1, 1],
    [1_200, 3_500, 1, 2], // arrived during, ended after: by arrival only
    [1_500, 2_900, 0, 3], // a failure: in p99 of all, not of successes
  ];
  const { phases } = analyseRun(new Map([['got', records]]), timeline);
  const during = phases[1];
  assert.ok(during !== undefined);
  assert.equal(during.goodputByEndRps, 1); // 2 successes ended in 2 s
  assert.equal(during.goodputRps, 1); // 2 of the 3 arrivals succeeded, over 2 s
  assert.equal(during.attemptsPerRequest, 2);
  assert.equal(during.p99Ms, 2_300);
  assert.equal(during.p99AllMs, 2_300);
  const onlyFailureLate = analyseRun(new Map([['got', [[1_100, 1_200, 1, 1], [1_200, 9_200, 0, 4]] as CallRecord[]]]), timeline).phases[1];
  assert.equal(onlyFailureLate?.p99Ms, 100);
  assert.equal(onlyFailureLate?.p99AllMs, 8_000);
});

function run(proxy: LiveRun['proxy'], d: { goodput: number; attempts: number; p99: number; after: number; wasted: number }): LiveRun {
  const phase = (name: 'before' | 'during' | 'after', over: Partial<LiveRun['figures']['phases'][number]>) => ({
    phase: name,
    offeredRps: 0,
    goodputRps: 0,
    goodputByEndRps: 0,
    successShare: 1,
    attemptsPerRequest: 1,
    p99Ms: 0,
    p99AllMs: 0,
    ...over,
  });
  return {
    scenario: 'tight-concurrency',
    proxy,
    figures: {
      phases: [phase('before', {}), phase('during', { goodputByEndRps: d.goodput, attemptsPerRequest: d.attempts, p99AllMs: d.p99 }), phase('after', { successShare: d.after })],
      attemptsByLibrary: {},
      recoverySeconds: 0,
    },
    backendWork: { served: 1000, wasted: d.wasted, refused: 0 },
    backendWorkDuring: { served: 1000 - d.wasted, wasted: d.wasted, refused: 0 },
  };
}

test("the Done-when checks: each figure passes at its target and fails just past it", () => {
  const haproxy = run('haproxy-tuned', { goodput: 97, attempts: 1.3, p99: 5_000, after: 1, wasted: 0 });
  const atTargets = tightConcurrencyChecks(run('sibyl', { goodput: 95.06, attempts: 1.15, p99: 2_000, after: 0.99, wasted: 9 }), haproxy, 100);
  assert.deepEqual(
    atTargets.filter((c) => !c.isPass).map((c) => c.figure),
    [],
  );
  const justPast = tightConcurrencyChecks(run('sibyl', { goodput: 94.9, attempts: 1.16, p99: 2_001, after: 0.989, wasted: 10 }), haproxy, 100);
  assert.deepEqual(
    justPast.filter((c) => !c.isPass).map((c) => c.figure),
    ['goodput during the trigger', 'client attempts per logical request (during)', 'p99 of logical requests (during)', 'success from the first second after the trigger', 'wasted backend work (during)', 'goodput vs tuned HAProxy'],
  );
  const worseThanHaproxy = tightConcurrencyChecks(run('sibyl', { goodput: 99, attempts: 1.3, p99: 5_000, after: 1, wasted: 0 }), haproxy, 100);
  assert.deepEqual(worseThanHaproxy.filter((c) => !c.isPass).map((c) => c.figure), ['client attempts per logical request (during)', 'p99 of logical requests (during)', 'attempts vs tuned HAProxy', 'p99 vs tuned HAProxy']);
  assert.match(formatChecks(justPast)[0] ?? '', /^FAIL {2}goodput during the trigger: 94\.9\/s \(94\.9 % of capacity\)/);
});
