// A/B experiments with the real binary: assignment is sticky per key, the same on two instances,
// splits by the weights; per-variant tallies reach the admin API and `sibyl experiment report`;
// `sibyl experiment sample-size` answers the seed's example.
import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { request } from 'undici';
import { backendsToml, startTestBackend, type TestBackend } from '../helpers/backends.ts';
import { adminJson, testConfig } from '../helpers/sibyl-control.ts';
import { runSibyl } from '../helpers/sibyl-cli.ts';
import { startSibyl } from '../helpers/sibyl-process.ts';
import { poolToml } from '../helpers/traffic.ts';

async function backends(t: TestContext, names: string[]): Promise<TestBackend[]> {
  const started = await Promise.all(names.map((n) => startTestBackend(n)));
  t.after(() => Promise.all(started.map((b) => b.close())));
  return started;
}

async function servedBy(proxyUrl: string, headers: Record<string, string>): Promise<string> {
  const res = await request(`${proxyUrl}/checkout`, { headers });
  await res.body.text();
  return String(res.headers['x-served-by']);
}

interface Report {
  readonly variants: { name: string; requests: number; successRate: number | null }[];
  readonly successRates: { pValue: number | null };
  readonly requiredPerVariant: number;
  readonly isSampleEnough: boolean;
}

test('experiment assignment is sticky, equal on two instances, weighted, and reported per variant', async (t) => {
  const [a, b] = (await backends(t, ['a', 'b'])) as [TestBackend, TestBackend];
  const config = testConfig(
    `[health]\nenabled = false\n[retry]\nenabled = false\n[outlier_detection]\nenabled = false\n${backendsToml([a])}\n${poolToml('v2', [b])}\n` +
      `[[experiments]]\nname = "checkout"\npool = "default"\nkey = "header:X-User"\nvariants = [{ name = "control", pool = "default", weight = 3 }, { name = "new", pool = "v2", weight = 1 }]\n`,
  );
  const [one, two] = await Promise.all([startSibyl(config), startSibyl(config)]);
  t.after(() => Promise.all([one.stop(), two.stop()]));
  b.status = 500; // the new variant fails: its success rate must show it

  const firstSeen = new Map<string, string>();
  for (let user = 0; user < 200; user++) firstSeen.set(`u${user}`, await servedBy(one.proxyUrl, { 'x-user': `u${user}` }));
  for (let user = 0; user < 200; user++) {
    assert.equal(await servedBy(one.proxyUrl, { 'x-user': `u${user}` }), firstSeen.get(`u${user}`), `u${user} is sticky`);
    assert.equal(await servedBy(two.proxyUrl, { 'x-user': `u${user}` }), firstSeen.get(`u${user}`), `u${user} lands in the same variant on another instance`);
  }
  const toNew = [...firstSeen.values()].filter((s) => s === 'b').length;
  // weight 1 of 4 over 200 users: 50 expected, binomial sd 6.1; +-20 is over 3 sd
  assert.ok(toNew >= 30 && toNew <= 70, `${toNew} of 200 users in the new variant`);
  for (let i = 0; i < 20; i++) assert.equal(await servedBy(one.proxyUrl, {}), 'a', 'without the key: the pool itself, not counted');

  const report = (await adminJson<Report>(one.adminUrl, '/api/experiments/checkout')).body;
  assert.deepEqual(report.variants.map((v) => [v.name, v.requests]), [['control', 2 * (200 - toNew)], ['new', 2 * toNew]]);
  assert.deepEqual(report.variants.map((v) => v.successRate), [1, 0]);
  assert.ok((report.successRates.pValue ?? 1) < 1e-6, 'all-success against all-failure is significant');
  assert.equal(report.isSampleEnough, false);

  const cli = await runSibyl(['experiment', 'report', '--admin', one.adminUrl]);
  assert.equal(cli.code, 0, cli.stderr);
  assert.match(cli.stdout, /experiment checkout: requests to pool default, assigned by header:x-user/);
  assert.match(cli.stdout, /new vs control: success -100\.00 points/);
  assert.match(cli.stdout, /NOT enough yet/);
  const reset = await adminJson<Report>(one.adminUrl, '/api/experiments/checkout/reset', 'POST');
  assert.deepEqual(reset.body.variants.map((v) => v.requests), [0, 0]);
});

test('sibyl experiment sample-size answers the seed\'s example: 3841 per variant', async () => {
  const result = await runSibyl(['experiment', 'sample-size', '--baseline', '0.10', '--mde', '0.02', '--alpha', '0.05', '--power', '0.8']);
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /^3841 per variant \(7682 in total for 2 variants\)/);
  const bad = await runSibyl(['experiment', 'sample-size', '--baseline', '1.5', '--mde', '0.02']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--baseline must be a number in \(0, 1\)/);
});

test('experiment tallies survive a restart through the state file', async (t) => {
  const [a, b] = (await backends(t, ['a', 'b'])) as [TestBackend, TestBackend];
  const stateFile = join(await mkdtemp(join(tmpdir(), 'sibyl-experiment-')), 'state.json');
  const config = testConfig(
    `[health]\nenabled = false\n[traffic]\nstate_file = "${stateFile}"\n${backendsToml([a])}\n${poolToml('v2', [b])}\n` +
      `[[experiments]]\nname = "checkout"\npool = "default"\nkey = "header:x-user"\nvariants = [{ name = "control", pool = "default", weight = 1 }, { name = "new", pool = "v2", weight = 1 }]\n`,
  );
  const first = await startSibyl(config);
  t.after(() => first.stop());
  for (let user = 0; user < 40; user++) await servedBy(first.proxyUrl, { 'x-user': `u${user}` });
  const before = (await adminJson<Report>(first.adminUrl, '/api/experiments/checkout')).body.variants.map((v) => v.requests);
  assert.equal(before[0]! + before[1]!, 40);
  assert.equal(await first.stop(), 0);

  const second = await startSibyl(config);
  t.after(() => second.stop());
  assert.deepEqual((await adminJson<Report>(second.adminUrl, '/api/experiments/checkout')).body.variants.map((v) => v.requests), before);
});
