// Service discovery with the real binary: backends added and removed in a DNS zone (a real DNS
// server on loopback) and in a watched file are picked up within one refresh interval under steady
// load without a failed request; a failed or empty refresh keeps the last good set.
import assert from 'node:assert/strict';
import { rename, writeFile } from 'node:fs/promises';
import { join, dirname } from 'node:path';
import { test, type TestContext } from 'node:test';
import { startTestBackend, type TestBackend } from '../helpers/backends.ts';
import { startDnsServer, type TestDnsServer } from '../helpers/dns-server.ts';
import { adminJson, backendViews, metricValue, testConfig } from '../helpers/sibyl-control.ts';
import { eventually, startSibyl, writeTempConfig } from '../helpers/sibyl-process.ts';
import { describeLoad, startLoad } from '../helpers/steady-load.ts';

interface DiscoveryView {
  readonly kind: string;
  readonly backends: readonly { name: string; address: string }[];
  readonly consecutiveFailures: number;
  readonly lastFailure?: { reason: string; message: string };
}

async function backends(t: TestContext, names: string[]): Promise<TestBackend[]> {
  const started = await Promise.all(names.map((n) => startTestBackend(n)));
  t.after(() => Promise.all(started.map((b) => b.close())));
  return started;
}

function srv(dns: TestDnsServer, list: readonly TestBackend[]): void {
  dns.zone.srv.set('_http._tcp.pool.test', list.map((b) => ({ priority: 10, weight: 1, port: b.port, target: 'host.test' })));
}

/** Names of the backends Sibyl serves, as their addresses map to the test backends. */
async function servedNames(adminUrl: string, all: readonly TestBackend[]): Promise<string[]> {
  const views = await backendViews(adminUrl);
  return views.map((v) => all.find((b) => b.address === v.address)?.name ?? v.address).sort();
}

const REFRESH_MS = 1000;
/** One refresh interval, plus what a loaded 2-core machine may add to a timer and a poll. */
const PICKUP_BOUND_MS = REFRESH_MS + 1500;

test('DNS (SRV): added and removed backends are picked up within one refresh under load, with no failed request', async (t) => {
  const all = await backends(t, ['a', 'b', 'c']);
  const [a, b, c] = all as [TestBackend, TestBackend, TestBackend];
  const dns = await startDnsServer();
  t.after(() => dns.close());
  dns.ttlSeconds = REFRESH_MS / 1000;
  dns.zone.a.set('host.test', ['127.0.0.1']);
  srv(dns, [a, b]);
  const sibyl = await startSibyl(testConfig(`[discovery]\nkind = "dns"\nname = "_http._tcp.pool.test"\nrecord_type = "SRV"\nresolvers = ["${dns.address}"]\nmin_ttl = "200ms"\ninterval = "${REFRESH_MS}ms"\ntimeout = "500ms"`));
  t.after(() => sibyl.stop());
  assert.deepEqual(await servedNames(sibyl.adminUrl, all), ['a', 'b'], 'the first answer is in service when the listener opens');

  // an operator's drain of b must survive the refreshes (the backend keeps its state by identity)
  assert.equal((await adminJson(sibyl.adminUrl, `/api/backends/${encodeURIComponent(b.address)}/drain`, 'POST')).status, 200);
  const load = startLoad(sibyl.proxyUrl, { concurrency: 6, maxRequests: 50_000, maxDurationMs: 8000 });
  t.after(() => load.stop());
  await eventually(() => load.answered() >= 100);

  srv(dns, [b, c]);
  const changedAt = Date.now();
  await eventually(async () => (await servedNames(sibyl.adminUrl, all)).join() === 'b,c', PICKUP_BOUND_MS + 2000);
  const pickupMs = Date.now() - changedAt;
  assert.ok(pickupMs <= PICKUP_BOUND_MS, `picked up after ${pickupMs} ms; refresh interval ${REFRESH_MS} ms`);
  const seenByA = a.seen.length;
  await eventually(() => c.seen.length >= 100, 5000);

  // a broken resolver, then an empty answer: the last good set stays, failures are counted and shown
  dns.isFailing = true;
  await eventually(async () => ((await metricValue(sibyl.adminUrl, 'sibyl_discovery_refreshes_total', { result: 'failed' })) ?? 0) >= 1, 5000);
  dns.isFailing = false;
  dns.zone.srv.set('_http._tcp.pool.test', []);
  await eventually(async () => ((await metricValue(sibyl.adminUrl, 'sibyl_discovery_refreshes_total', { result: 'empty' })) ?? 0) >= 1, 5000);
  const view = (await adminJson<DiscoveryView>(sibyl.adminUrl, '/api/discovery')).body;
  assert.equal(view.kind, 'dns');
  assert.equal(view.lastFailure?.reason, 'empty');
  assert.ok(view.consecutiveFailures >= 2, JSON.stringify(view));
  assert.deepEqual(await servedNames(sibyl.adminUrl, all), ['b', 'c'], 'the last good set stays in service');

  const result = await load.stop();
  assert.equal(result.errors.size, 0, describeLoad(result));
  assert.deepEqual([...result.statuses.keys()], [200], describeLoad(result));
  // requests picked just before the swap may still reach a: at most one per client loop
  assert.ok(a.seen.length - seenByA <= 6, `the removed backend got ${a.seen.length - seenByA} requests after it left`);
  assert.equal(b.seen.length, 0, 'b stayed drained across the refreshes');
  assert.equal(await metricValue(sibyl.adminUrl, 'sibyl_backend_draining', { backend: b.address }), 1);
  assert.equal(await metricValue(sibyl.adminUrl, 'sibyl_discovery_backends'), 2);
});

test('a watched file: added and removed backends are picked up within one interval under load, with no failed request', async (t) => {
  const all = await backends(t, ['a', 'b', 'c']);
  const [a, b, c] = all as [TestBackend, TestBackend, TestBackend];
  const configPath = await writeTempConfig('');
  const listPath = join(dirname(configPath), 'backends.json');
  const writeList = async (list: readonly TestBackend[]): Promise<void> => {
    // written aside and renamed, as deploy tools do, so that no refresh reads it half-written
    await writeFile(`${listPath}.next`, JSON.stringify({ backends: list.map((x) => ({ name: x.name, address: x.address })) }));
    await rename(`${listPath}.next`, listPath);
  };
  await writeList([a, b]);
  const sibyl = await startSibyl(testConfig(`[discovery]\nkind = "file"\npath = "${listPath}"\ninterval = "${REFRESH_MS}ms"`));
  t.after(() => sibyl.stop());
  assert.deepEqual((await backendViews(sibyl.adminUrl)).map((v) => v.name), ['a', 'b']);
  const load = startLoad(sibyl.proxyUrl, { concurrency: 6, maxRequests: 50_000, maxDurationMs: 8000 });
  t.after(() => load.stop());
  await eventually(() => load.answered() >= 100);

  await writeList([b, c]);
  const changedAt = Date.now();
  await eventually(async () => (await backendViews(sibyl.adminUrl)).map((v) => v.name).join() === 'b,c', PICKUP_BOUND_MS + 2000);
  const pickupMs = Date.now() - changedAt;
  assert.ok(pickupMs <= PICKUP_BOUND_MS, `picked up after ${pickupMs} ms; interval ${REFRESH_MS} ms`);
  const seenByA = a.seen.length;
  await eventually(() => c.seen.length >= 100, 5000);

  await writeFile(listPath, '{"backends": [');
  await eventually(async () => ((await metricValue(sibyl.adminUrl, 'sibyl_discovery_refreshes_total', { result: 'failed' })) ?? 0) >= 1, 5000);
  assert.deepEqual((await backendViews(sibyl.adminUrl)).map((v) => v.name), ['b', 'c'], 'a broken file keeps the last good set');

  const result = await load.stop();
  assert.equal(result.errors.size, 0, describeLoad(result));
  assert.deepEqual([...result.statuses.keys()], [200], describeLoad(result));
  assert.ok(a.seen.length - seenByA <= 6, `the removed backend got ${a.seen.length - seenByA} requests after it left`);
  assert.ok(b.seen.length > 0);
});
