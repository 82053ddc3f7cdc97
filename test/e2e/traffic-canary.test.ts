// Canary rollouts with the real binary and real backends: a canary that starts failing is rolled
// back within two analysis intervals while stable keeps serving; a healthy canary is promoted step
// by step to 100 %; the state survives a restart; operators pause, resume and abort it.
import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { request } from 'undici';
import { backendsToml, startTestBackend, type TestBackend } from '../helpers/backends.ts';
import { adminJson, metricValue, testConfig } from '../helpers/sibyl-control.ts';
import { eventually, startSibyl, type SibylProcess } from '../helpers/sibyl-process.ts';
import { describeLoad, startLoad } from '../helpers/steady-load.ts';
import { poolToml } from '../helpers/traffic.ts';

interface RolloutView {
  readonly phase: string;
  readonly step: number;
  readonly canaryPercent: number;
  readonly reason?: string;
  readonly events: { type: string; canaryPercent: number; atIso: string }[];
}

async function backends(t: TestContext, names: string[]): Promise<TestBackend[]> {
  const started = await Promise.all(names.map((n) => startTestBackend(n)));
  t.after(() => Promise.all(started.map((b) => b.close())));
  return started;
}

/** Failures must reach the rollout's analysis, not be hidden by Sibyl's own defences. */
const PLAIN = '[health]\nenabled = false\n[retry]\nenabled = false\n[outlier_detection]\nenabled = false\n';

function canaryConfig(stable: TestBackend, canary: TestBackend, rollout: string, extra = ''): string {
  return testConfig(`${PLAIN}${extra}\n${backendsToml([stable])}\n${poolToml('v2', [canary])}\n[[rollouts]]\nname = "checkout"\nstable = "default"\ncanary = "v2"\n${rollout}`);
}

async function rollout(sibyl: SibylProcess): Promise<RolloutView> {
  return (await adminJson<RolloutView>(sibyl.adminUrl, '/api/rollouts/checkout')).body;
}

async function phaseReached(sibyl: SibylProcess, phase: string, timeoutMs: number): Promise<RolloutView> {
  let view: RolloutView | undefined;
  await eventually(async () => (view = await rollout(sibyl)).phase === phase, timeoutMs);
  if (view === undefined) throw new Error('unreachable');
  return view;
}

test('a canary whose backend starts failing is rolled back within two analysis intervals; stable keeps serving', async (t) => {
  const [a, b] = (await backends(t, ['a', 'b'])) as [TestBackend, TestBackend];
  const intervalMs = 1000;
  const sibyl = await startSibyl(canaryConfig(a, b, 'steps = [20, 100]\nstep_duration = "1h"\nanalysis_interval = "1s"\nmin_samples = 5\n'));
  t.after(() => sibyl.stop());
  const load = startLoad(sibyl.proxyUrl, { concurrency: 4, maxRequests: 200_000, maxDurationMs: 20_000 });
  t.after(() => load.stop());
  // the canary takes its 20 % and passes an analysis before it breaks
  await eventually(async () => ((await metricValue(sibyl.adminUrl, 'sibyl_traffic_rollout_analyses_total', { rollout: 'checkout', verdict: 'pass' })) ?? 0) >= 1, 10_000);
  assert.equal((await rollout(sibyl)).phase, 'progressing');

  const answeredAtFailure = load.answered();
  const failedAtMs = Date.now();
  b.status = 500;
  const view = await phaseReached(sibyl, 'rolled_back', 10_000);
  const rolledBackAtMs = Date.parse(view.events.find((e) => e.type === 'rolled_back')?.atIso ?? '');
  const answeredAtRollback = load.answered();
  assert.ok(rolledBackAtMs - failedAtMs <= 2 * intervalMs + 500, `rolled back ${rolledBackAtMs - failedAtMs} ms after the canary broke (two intervals: ${2 * intervalMs} ms, plus 500 ms for timer lag on a loaded machine)`);
  assert.match(view.reason ?? '', /canary error rate .* > 1 %/);
  assert.equal(view.canaryPercent, 0);

  const seenByCanaryAtRollback = b.seen.length;
  await eventually(() => load.answered() >= answeredAtRollback + 300, 10_000);
  const result = await load.stop();
  assert.equal(result.errors.size, 0, describeLoad(result));
  assert.ok(b.seen.length - seenByCanaryAtRollback <= 4, `the canary got ${b.seen.length - seenByCanaryAtRollback} requests after the rollback (at most the 4 in flight)`);
  // the only failures are the canary's share of the requests between the break and the rollback
  const failed = result.statuses.get(500) ?? 0;
  const during = answeredAtRollback - answeredAtFailure;
  assert.ok(failed <= 0.2 * during * 1.6 + 4, `${failed} failed of ${during} requests while the canary was broken (its share is 20 %): ${describeLoad(result)}`);
  assert.equal(await metricValue(sibyl.adminUrl, 'sibyl_traffic_rollout_canary_weight_percent', { rollout: 'checkout' }), 0);
  assert.equal(await metricValue(sibyl.adminUrl, 'sibyl_traffic_rollout_transitions_total', { rollout: 'checkout', event: 'rolled_back' }), 1);
  await sibyl.waitForLog((l) => l.event === 'rolled_back' && l.rollout === 'checkout');
});

test('a healthy canary is promoted step by step to 100 %', async (t) => {
  const [a, b] = (await backends(t, ['a', 'b'])) as [TestBackend, TestBackend];
  const sibyl = await startSibyl(canaryConfig(a, b, 'steps = [25, 50, 100]\nstep_duration = "1s"\nanalysis_interval = "250ms"\nmin_samples = 5\n'));
  t.after(() => sibyl.stop());
  const load = startLoad(sibyl.proxyUrl, { concurrency: 4, maxRequests: 200_000, maxDurationMs: 25_000 });
  t.after(() => load.stop());
  const view = await phaseReached(sibyl, 'promoted', 20_000);
  const result = await load.stop();
  assert.deepEqual([...result.statuses.keys()], [200], describeLoad(result));
  assert.deepEqual(
    view.events.map((e) => `${e.type}:${e.canaryPercent}`).reverse(),
    ['started:25', 'step:50', 'step:100', 'promoted:100'],
  );
  const served = [];
  for (let i = 0; i < 20; i++) {
    const res = await request(`${sibyl.proxyUrl}/after`);
    await res.body.text();
    served.push(res.headers['x-served-by']);
  }
  assert.deepEqual(new Set(served), new Set(['b']), 'promoted: the canary serves all of the stable pool\'s traffic');
  assert.equal(await metricValue(sibyl.adminUrl, 'sibyl_traffic_rollout_state', { rollout: 'checkout', state: 'promoted' }), 1);
});

test('operators pause, resume and abort; the state survives a restart through the state file', async (t) => {
  const [a, b] = (await backends(t, ['a', 'b'])) as [TestBackend, TestBackend];
  const stateFile = join(await mkdtemp(join(tmpdir(), 'sibyl-state-')), 'traffic.json');
  const config = canaryConfig(a, b, 'steps = [10, 100]\nstep_duration = "1h"\n', `[traffic]\nstate_file = "${stateFile}"\n`);
  const first = await startSibyl(config);
  t.after(() => first.stop());
  const paused = await adminJson<RolloutView>(first.adminUrl, '/api/rollouts/checkout/pause', 'POST');
  assert.equal(paused.status, 200);
  assert.equal(paused.body.phase, 'paused');
  assert.equal((await adminJson<{ code: string }>(first.adminUrl, '/api/rollouts/checkout/pause', 'POST')).status, 409);
  assert.equal((await adminJson<{ code: string }>(first.adminUrl, '/api/rollouts/nope/pause', 'POST')).status, 404);
  await first.stop();

  const second = await startSibyl(config);
  t.after(() => second.stop());
  const restored = await rollout(second);
  assert.equal(restored.phase, 'paused', 'the pause outlives the process');
  assert.deepEqual(restored.events.map((e) => e.type), ['restored']);
  assert.equal((await adminJson<RolloutView>(second.adminUrl, '/api/rollouts/checkout/resume', 'POST')).body.phase, 'progressing');
  const aborted = await adminJson<RolloutView>(second.adminUrl, '/api/rollouts/checkout/abort', 'POST');
  assert.equal(aborted.body.phase, 'aborted');
  for (let i = 0; i < 30; i++) {
    const res = await request(`${second.proxyUrl}/x`);
    await res.body.text();
    assert.equal(res.headers['x-served-by'], 'a', 'aborted: stable serves everything');
  }
  const list = await adminJson<{ rollouts: RolloutView[] }>(second.adminUrl, '/api/rollouts');
  assert.equal(list.body.rollouts.length, 1);
});
