// Pools and routes with the real binary: rules on host, path prefix, method, header and cookie pick
// a pool; a split shares a route between pools by weight; unmatched requests go to the default
// pool; a reload changes the routes without a restart; each pool keeps its own strategy.
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { request } from 'undici';
import { backendsToml, startTestBackend, type TestBackend } from '../helpers/backends.ts';
import { configView, metricValue, replaceConfigFile, testConfig } from '../helpers/sibyl-control.ts';
import { eventually, startSibyl } from '../helpers/sibyl-process.ts';
import { poolToml, tally } from '../helpers/traffic.ts';

async function backends(t: TestContext, names: string[]): Promise<TestBackend[]> {
  const started = await Promise.all(names.map((n) => startTestBackend(n)));
  t.after(() => Promise.all(started.map((b) => b.close())));
  return started;
}

async function servedBy(proxyUrl: string, path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<string> {
  const res = await request(`${proxyUrl}${path}`, { method, headers });
  await res.body.text();
  assert.equal(res.statusCode, 200);
  return String(res.headers['x-served-by']);
}

const ROUTES = `
[[routes]]
name = "beta-header"
headers = [{ name = "X-Beta", value = "1" }]
pool = "v3"

[[routes]]
name = "beta-cookie"
cookies = [{ name = "track", value = "beta" }]
pool = "v3"

[[routes]]
name = "api-v2"
host = "api.example.com"
path_prefix = "/v2/"
pool = "v2"

[[routes]]
name = "deletes"
methods = ["DELETE"]
pool = "v2"

[[routes]]
name = "shop"
host = "*.shop.test"
split = [{ pool = "v2", weight = 3 }, { pool = "v3", weight = 1 }]
`;

test('routes pick pools by header, cookie, host + path prefix and method; the rest goes to the default pool', async (t) => {
  const [a, b1, b2, c] = (await backends(t, ['a', 'b1', 'b2', 'c'])) as [TestBackend, TestBackend, TestBackend, TestBackend];
  const config = testConfig(`[health]\nenabled = false\n${backendsToml([a])}\n${poolToml('v2', [b1, b2])}\n${poolToml('v3', [c])}\n${ROUTES}`);
  const sibyl = await startSibyl(config);
  t.after(() => sibyl.stop());
  const url = sibyl.proxyUrl;

  assert.equal(await servedBy(url, '/anything'), 'a', 'unmatched: default pool');
  assert.equal(await servedBy(url, '/x', { 'x-beta': '1' }), 'c', 'header rule');
  assert.equal(await servedBy(url, '/x', { 'x-beta': '2' }), 'a', 'header value must match exactly');
  assert.equal(await servedBy(url, '/x', { cookie: 'a=1; track=beta' }), 'c', 'cookie rule');
  assert.match(await servedBy(url, '/v2/items', { host: 'API.example.com:8080' }), /^b[12]$/, 'host (any case, port ignored) + prefix');
  assert.equal(await servedBy(url, '/v1/items', { host: 'api.example.com' }), 'a', 'prefix must match too');
  assert.equal(await servedBy(url, '/v2/items', { host: 'web.example.com' }), 'a', 'host must match too');
  assert.match(await servedBy(url, '/thing', {}, 'DELETE'), /^b[12]$/, 'method rule');

  // pool v2 keeps its own strategy (round robin over its two backends)
  const inV2 = [];
  for (let i = 0; i < 4; i++) inV2.push(await servedBy(url, '/v2/x', { host: 'api.example.com' }));
  assert.deepEqual([...tally(inV2).values()], [2, 2], `v2 round-robins over b1 and b2: ${inV2.join(',')}`);

  // a 3:1 split over 400 requests: v3's share is 25 % +- 8 points (binomial sd is 2.2 points)
  const split = [];
  for (let i = 0; i < 400; i++) split.push(await servedBy(url, '/', { host: 'www.shop.test' }));
  const toV3 = split.filter((s) => s === 'c').length;
  assert.ok(toV3 >= 68 && toV3 <= 132, `v3 got ${toV3} of 400`);
  assert.equal(split.filter((s) => s === 'a').length, 0, 'a split never falls through to the default pool');

  assert.equal(await metricValue(sibyl.adminUrl, 'sibyl_traffic_requests_total', { route: 'shop', pool: 'v3' }), toV3);
  assert.equal(await metricValue(sibyl.adminUrl, 'sibyl_traffic_requests_total', { route: 'default', pool: 'default' }), 4);
  assert.equal(await metricValue(sibyl.adminUrl, 'sibyl_traffic_pool_eligible_backends', { pool: 'v2' }), 2);
});

test('a reload changes the routes; a route to an unknown pool is rejected and changes nothing', async (t) => {
  const [a, b] = (await backends(t, ['a', 'b'])) as [TestBackend, TestBackend];
  const base = `[health]\nenabled = false\n${backendsToml([a])}\n${poolToml('v2', [b])}\n`;
  const sibyl = await startSibyl(testConfig(base, { runtime: 'config_watch_interval_millis = 100' }));
  t.after(() => sibyl.stop());
  assert.equal(await servedBy(sibyl.proxyUrl, '/new/x'), 'a');

  await replaceConfigFile(sibyl.configPath, testConfig(`${base}\n[[routes]]\npath_prefix = "/new/"\npool = "v2"\n`, { runtime: 'config_watch_interval_millis = 100' }));
  await eventually(async () => (await configView(sibyl.adminUrl)).generation === 2, 5000);
  assert.equal(await servedBy(sibyl.proxyUrl, '/new/x'), 'b');

  await replaceConfigFile(sibyl.configPath, testConfig(`${base}\n[[routes]]\npath_prefix = "/new/"\npool = "v9"\n`, { runtime: 'config_watch_interval_millis = 100' }));
  const rejected = await eventually(async () => {
    const view = await configView(sibyl.adminUrl);
    return view.lastReload.ok ? undefined : view;
  }, 5000);
  assert.ok(rejected !== undefined);
  assert.match(rejected.lastReload.problems.join('\n'), /routes\[0\]\.pool: unknown pool "v9"/);
  assert.equal(await servedBy(sibyl.proxyUrl, '/new/x'), 'b', 'the previous routes stay in service');
});

test('health counts the backends of every pool', async (t) => {
  const [a, b] = (await backends(t, ['a', 'b'])) as [TestBackend, TestBackend];
  const sibyl = await startSibyl(testConfig(`[health]\nenabled = false\n${backendsToml([a])}\n${poolToml('v2', [b])}\n`));
  t.after(() => sibyl.stop());
  const health = await request(`${sibyl.adminUrl}/health`);
  const body = (await health.body.json()) as { status: string; eligibleBackends: number; totalBackends: number };
  assert.deepEqual([health.statusCode, body.status, body.eligibleBackends, body.totalBackends], [200, 'ok', 2, 2]);
  const views = await request(`${sibyl.adminUrl}/api/backends`);
  const list = ((await views.body.json()) as { backends: { name: string; pool: string }[] }).backends;
  assert.deepEqual(list.map((v) => `${v.name}:${v.pool}`), ['a:default', 'b:v2']);
});
