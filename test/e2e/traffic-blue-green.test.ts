// Blue-green with the real binary: a switch under steady load loses no request and moves all new
// traffic at once; switching back is instant; a failing smoke check refuses the switch; the config
// can switch too.
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { request } from 'undici';
import { backendsToml, startTestBackend, type TestBackend } from '../helpers/backends.ts';
import { adminJson, configView, metricValue, replaceConfigFile, testConfig } from '../helpers/sibyl-control.ts';
import { eventually, startSibyl } from '../helpers/sibyl-process.ts';
import { describeLoad, startLoad } from '../helpers/steady-load.ts';
import { poolToml } from '../helpers/traffic.ts';

interface PairView {
  readonly active: string;
  readonly activePool: string;
  readonly smoke: { backend: string; ok: boolean; detail: string }[];
  readonly code?: string;
}

async function backends(t: TestContext, names: string[]): Promise<TestBackend[]> {
  const started = await Promise.all(names.map((n) => startTestBackend(n)));
  t.after(() => Promise.all(started.map((b) => b.close())));
  return started;
}

function config(blue: TestBackend[], green: TestBackend[], active: 'blue' | 'green'): string {
  return testConfig(
    `[health]\nenabled = false\n${backendsToml(blue)}\n${poolToml('green', green)}\n[[blue_green]]\nname = "shop"\nblue = "default"\ngreen = "green"\nactive = "${active}"\nsmoke_path = "/health"\n`,
    { runtime: 'config_watch_interval_millis = 100' },
  );
}

const sum = (bs: TestBackend[]): number => bs.reduce((n, b) => n + b.seen.length, 0);

test('a blue-green switch and the switch back under steady load lose no request', async (t) => {
  const [b1, b2, g1, g2] = await backends(t, ['b1', 'b2', 'g1', 'g2']);
  const blue = [b1, b2] as TestBackend[];
  const green = [g1, g2] as TestBackend[];
  const sibyl = await startSibyl(config(blue, green, 'blue'));
  t.after(() => sibyl.stop());
  const concurrency = 8;
  const load = startLoad(sibyl.proxyUrl, { concurrency, maxRequests: 100_000, maxDurationMs: 20_000 });
  t.after(() => load.stop());
  await eventually(() => load.answered() >= 200);
  assert.equal(sum(green), 0, 'green is idle before the switch');

  const switched = await adminJson<PairView>(sibyl.adminUrl, '/api/blue-green/shop/switch', 'POST');
  assert.equal(switched.status, 200, JSON.stringify(switched.body));
  assert.equal(switched.body.active, 'green');
  assert.deepEqual(switched.body.smoke.map((s) => s.ok), [true, true], 'both green backends passed the smoke check');
  const blueAtSwitch = sum(blue);
  const atSwitch = load.answered();
  await eventually(() => load.answered() >= atSwitch + 300);
  assert.ok(sum(blue) - blueAtSwitch <= concurrency, `blue got ${sum(blue) - blueAtSwitch} requests after the switch (at most those in flight)`);
  assert.ok(sum(green) >= 250);

  const back = await adminJson<PairView>(sibyl.adminUrl, '/api/blue-green/shop/switch-back', 'POST');
  assert.equal(back.body.active, 'blue');
  assert.deepEqual(back.body.smoke, [], 'switching back is instant: no smoke check');
  const greenAtBack = sum(green);
  const atBack = load.answered();
  await eventually(() => load.answered() >= atBack + 300);
  const result = await load.stop();
  assert.equal(result.errors.size, 0, describeLoad(result));
  assert.deepEqual([...result.statuses.keys()], [200], describeLoad(result));
  assert.ok(sum(green) - greenAtBack <= concurrency);
  assert.equal(await metricValue(sibyl.adminUrl, 'sibyl_traffic_blue_green_switches_total', { name: 'shop', result: 'switched' }), 2);
  assert.equal(await metricValue(sibyl.adminUrl, 'sibyl_traffic_blue_green_active', { name: 'shop', side: 'blue' }), 1);
});

test('a failing smoke check refuses the switch; the config can switch too', async (t) => {
  const [b1, g1, g2] = await backends(t, ['b1', 'g1', 'g2']);
  const blue = [b1] as TestBackend[];
  const green = [g1, g2] as TestBackend[];
  const sibyl = await startSibyl(config(blue, green, 'blue'));
  t.after(() => sibyl.stop());
  (g2 as TestBackend).status = 500;
  const refused = await adminJson<PairView & { error: string }>(sibyl.adminUrl, '/api/blue-green/shop/switch', 'POST', { to: 'green' });
  assert.equal(refused.status, 409);
  assert.equal(refused.body.code, 'SIBYL_ERR_TRAFFIC_SMOKE_FAILED');
  assert.deepEqual(refused.body.smoke.map((s) => `${s.backend}:${s.ok}:${s.detail}`).sort(), ['g1:true:status 200', 'g2:false:status 503']);
  const res = await request(`${sibyl.proxyUrl}/x`);
  await res.body.text();
  assert.equal(res.headers['x-served-by'], 'b1', 'still blue');

  const forced = await adminJson<PairView>(sibyl.adminUrl, '/api/blue-green/shop/switch', 'POST', { to: 'green', skip_smoke: true });
  assert.equal(forced.body.active, 'green');
  assert.equal((await adminJson<PairView>(sibyl.adminUrl, '/api/blue-green/shop/switch', 'POST', { to: 'purple' })).status, 400);
  assert.equal((await adminJson<PairView>(sibyl.adminUrl, '/api/blue-green/none/switch', 'POST')).status, 404);

  // the config names green now: no change; then blue: the config's newer decision switches back
  await replaceConfigFile(sibyl.configPath, config(blue, green, 'green'));
  await eventually(async () => (await configView(sibyl.adminUrl)).generation === 2, 5000);
  assert.equal((await adminJson<PairView>(sibyl.adminUrl, '/api/blue-green/shop')).body.active, 'green');
  await replaceConfigFile(sibyl.configPath, config(blue, green, 'blue'));
  await eventually(async () => (await configView(sibyl.adminUrl)).generation === 3, 5000);
  assert.equal((await adminJson<PairView>(sibyl.adminUrl, '/api/blue-green/shop')).body.active, 'blue');
});
