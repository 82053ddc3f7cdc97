// `sibyl serve --workers 2` through the real binary: the primary hands connections to two workers,
// sticky by client IP; its /metrics shows totals equal to the requests sent; SIGTERM drains every
// worker without a failed request; a config reload reaches every worker; a dead worker is replaced.
// Requests come from several loopback source addresses (127.0.0.1-8), so that both workers get some.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Agent, request } from 'undici';
import { backendsToml, startSlowBackend, startTestBackend } from '../helpers/backends.ts';
import { sampleValue, scrapeMetrics } from '../helpers/http-fixture.ts';
import { runSibyl } from '../helpers/sibyl-cli.ts';
import { testConfig } from '../helpers/sibyl-control.ts';
import { TWO_WORKERS, workerAdminUrls } from '../helpers/workers.ts';
import { eventually, startSibyl } from '../helpers/sibyl-process.ts';

const WORKERS = TWO_WORKERS;
const REST = '[health]\nenabled = false';
/** The file watcher polls only every 10 minutes: a reload below comes from the trigger. */
const RUNTIME = { runtime: 'config_watch_interval_millis = 600000' };

const SOURCES = Array.from({ length: 8 }, (_, i) => `127.0.0.${i + 1}`);
let nextSource = 0;

/** A request on a connection of its own, from the next source address: another client IP. */
async function getFresh(url: string): Promise<{ status: number; servedBy: string }> {
  const dispatcher = new Agent({ localAddress: SOURCES[nextSource++ % SOURCES.length] });
  try {
    const res = await request(url, { dispatcher });
    await res.body.text();
    return { status: res.statusCode, servedBy: String(res.headers['x-served-by'] ?? '') };
  } finally {
    await dispatcher.close();
  }
}

test('one /metrics for both workers: totals equal the requests sent; both workers served, each client IP by one', { timeout: 30_000 }, async (t) => {
  const backend = await startTestBackend('app');
  t.after(() => backend.close());
  const sibyl = await startSibyl(testConfig(`${REST}\n${backendsToml([backend])}`, RUNTIME), { args: WORKERS });
  t.after(() => sibyl.stop());
  const sent = 120;
  for (let i = 0; i < sent; i += 10) {
    const batch = await Promise.all(Array.from({ length: 10 }, () => getFresh(`${sibyl.proxyUrl}/x`)));
    assert.ok(batch.every((r) => r.status === 200));
  }
  const total = sampleValue(await scrapeMetrics(sibyl.adminUrl), 'sibyl_proxy_requests_total', { backend: 'app', status_class: '2xx' });
  assert.equal(total, sent);
  const perWorker = await Promise.all(workerAdminUrls(sibyl).map(async (url) => sampleValue(await scrapeMetrics(url), 'sibyl_proxy_requests_total', { backend: 'app', status_class: '2xx' })));
  assert.equal(perWorker.length, 2);
  assert.ok(perWorker.every((n) => n > 0), `both workers served: ${perWorker.join(' + ')}`);
  assert.equal(perWorker[0]! + perWorker[1]!, sent);
  // sticky: many requests from one client IP all land on one worker
  const before = await Promise.all(workerAdminUrls(sibyl).map(async (url) => sampleValue(await scrapeMetrics(url), 'sibyl_proxy_requests_total', { backend: 'app', status_class: '2xx' })));
  for (let i = 0; i < 20; i++) {
    const res = await request(`${sibyl.proxyUrl}/same-client`, { headers: { connection: 'close' } });
    await res.body.text();
  }
  const afterOne = await Promise.all(workerAdminUrls(sibyl).map(async (url) => sampleValue(await scrapeMetrics(url), 'sibyl_proxy_requests_total', { backend: 'app', status_class: '2xx' })));
  assert.deepEqual(afterOne.map((n, i) => n - (before[i] as number)).sort(), [0, 20], 'twenty connections from 127.0.0.1 went to one worker');
  const ready = await request(`${sibyl.adminUrl}/health/ready`);
  assert.equal(ready.statusCode, 200);
  assert.deepEqual(await ready.body.json(), { status: 'ready', isReady: true, workers: 2, readyWorkers: 2 });
});

test('a reload (file change + SIGHUP, or POST /api/reload) reaches every worker', { timeout: 30_000 }, async (t) => {
  const [a, b] = [await startTestBackend('a'), await startTestBackend('b')];
  t.after(() => a.close());
  t.after(() => b.close());
  const sibyl = await startSibyl(testConfig(`${REST}\n${backendsToml([a])}`, RUNTIME), { args: WORKERS });
  t.after(() => sibyl.stop());
  await writeFile(sibyl.configPath, testConfig(`${REST}\n${backendsToml([b])}`, RUNTIME));
  sibyl.proc.kill('SIGHUP');
  await eventually(async () => sampleValue(await scrapeMetrics(sibyl.adminUrl), 'sibyl_config_reloads_total') === 2, 10_000);
  const after = await Promise.all(Array.from({ length: 20 }, () => getFresh(`${sibyl.proxyUrl}/y`)));
  assert.deepEqual(new Set(after.map((r) => r.servedBy)), new Set(['b']), 'every worker sends to the new backend');

  await writeFile(sibyl.configPath, testConfig(`${REST}\n${backendsToml([a])}`, RUNTIME));
  // the primary guards its admin listener as a single process does: a DNS-rebinding Host is refused
  const port = new URL(sibyl.adminUrl).port;
  const rebound = await request(`${sibyl.adminUrl}/api/reload`, { method: 'POST', headers: { host: `evil.example:${port}`, origin: `http://evil.example:${port}` } });
  assert.equal(rebound.statusCode, 421);
  assert.equal(((await rebound.body.json()) as { code: string }).code, 'SIBYL_ERR_ADMIN_MISDIRECTED');
  // the dashboard's own POST (same origin) passes the primary and its workers
  const res = await request(`${sibyl.adminUrl}/api/reload`, { method: 'POST', headers: { origin: sibyl.adminUrl } });
  assert.equal(res.statusCode, 200);
  assert.equal(((await res.body.json()) as { ok: boolean }).ok, true);
  assert.equal(sampleValue(await scrapeMetrics(sibyl.adminUrl), 'sibyl_config_reloads_total'), 4, 'the primary sent the reload to both workers');
  const back = await Promise.all(Array.from({ length: 20 }, () => getFresh(`${sibyl.proxyUrl}/z`)));
  assert.deepEqual(new Set(back.map((r) => r.servedBy)), new Set(['a']));
});

test('SIGTERM drains every worker: in-flight requests on both finish with 200, exit 0', { timeout: 30_000 }, async (t) => {
  const { backend, inFlight } = await startSlowBackend(800);
  t.after(() => backend.close());
  const sibyl = await startSibyl(testConfig(`${REST}\n${backendsToml([backend])}`, { runtime: 'drain_timeout_millis = 5000\nconfig_watch_interval_millis = 600000' }), { args: WORKERS });
  t.after(() => sibyl.stop('SIGKILL'));
  const slow = Array.from({ length: 8 }, () => getFresh(`${sibyl.proxyUrl}/slow`).catch((err: Error & { code?: string }) => ({ status: 0, servedBy: err.code ?? String(err) })));
  await eventually(() => inFlight() === 8, 5000);
  sibyl.proc.kill('SIGTERM');
  const results = await Promise.all(slow);
  assert.deepEqual(results.map((r) => r.status), Array(8).fill(200), JSON.stringify(results));
  assert.equal(await sibyl.exited, 0);
  const stopped = sibyl.logLines.filter((l) => l.includes('"msg":"stopped"'));
  assert.equal(stopped.length, 3, 'both workers and the primary stopped cleanly');
  assert.ok(stopped.every((l) => l.includes('"isClean":true')), stopped.join('\n'));
});

test('a worker that dies is replaced, and the listener keeps serving meanwhile', { timeout: 30_000 }, async (t) => {
  const backend = await startTestBackend('app');
  t.after(() => backend.close());
  const sibyl = await startSibyl(testConfig(`${REST}\n${backendsToml([backend])}`, RUNTIME), { args: WORKERS });
  t.after(() => sibyl.stop());
  const started = () => sibyl.logLines.map((l) => JSON.parse(l) as { msg?: string; pid?: number }).filter((l) => l.msg === 'worker started');
  const victim = started()[0]?.pid as number;
  process.kill(victim, 'SIGKILL');
  await sibyl.waitForLog((l) => l.msg === 'worker died; starting another' && l.signal === 'SIGKILL');
  for (let i = 0; i < 10; i++) assert.equal((await getFresh(`${sibyl.proxyUrl}/during`)).status, 200);
  await eventually(async () => {
    const res = await request(`${sibyl.adminUrl}/health/ready`);
    return ((await res.body.json()) as { readyWorkers: number }).readyWorkers === 2;
  }, 15_000);
  assert.equal(started().length, 3);
  assert.ok(!started().slice(2).some((l) => l.pid === victim));
});

test('--workers 2 is refused, with the reason, where the primary cannot hand sockets over yet (TCP mode)', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'sibyl-workers-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, 'tcp.toml');
  await writeFile(path, testConfig('[[backends]]\naddress = "127.0.0.1:9"', { proxy: 'kind = "tcp"' }));
  const run = await runSibyl(['serve', '--config', path, '--workers', '2']);
  assert.equal(run.code, 2, run.stderr);
  assert.match(run.stderr, /--workers 2: not supported with \[proxy\] kind = "tcp" yet/);
});
