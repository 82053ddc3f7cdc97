// State the workers of `sibyl serve --workers 2` share through the primary, via the real binary:
// a rate limit is one per machine, not one per worker; the workers merge their retry models; one
// worker runs the active health checks and every worker routes by their results.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Agent, request } from 'undici';
import { backendsToml, startTestBackend } from '../helpers/backends.ts';
import { sampleValue, scrapeMetrics } from '../helpers/http-fixture.ts';
import { drivePopulations, type Population } from '../helpers/retry-population.ts';
import { predictRetry, scriptedBackend } from '../helpers/retry-telemetry.ts';
import { testConfig } from '../helpers/sibyl-control.ts';
import { TWO_WORKERS, workerAdminUrls } from '../helpers/workers.ts';
import { eventually, startSibyl } from '../helpers/sibyl-process.ts';
import { startLoad } from '../helpers/steady-load.ts';

const WORKERS = TWO_WORKERS;
const REST = '[health]\nenabled = false';
const RUNTIME = { runtime: 'config_watch_interval_millis = 600000' };

test('a rate limit is one per machine, not one per worker', { timeout: 30_000 }, async (t) => {
  const backend = await startTestBackend('app');
  t.after(() => backend.close());
  const rate = 50;
  const limit = `[[rate_limits]]\nname = "machine"\nkey = "route"\nrate = ${rate}\nburst = 25`;
  const sibyl = await startSibyl(testConfig(`${REST}\n[retry]\nenabled = false\n${limit}\n${backendsToml([backend])}`, RUNTIME), { args: WORKERS });
  t.after(() => sibyl.stop());
  // connections go to a worker by client IP: 127.0.0.1 and 127.0.0.4 land on different ones
  const run = async (ms: number) => {
    const results = await Promise.all(['127.0.0.1', '127.0.0.4'].map((localAddress) => startLoad(sibyl.proxyUrl, { concurrency: 3, maxRequests: 100_000, maxDurationMs: ms, path: '/limited', localAddress }).done));
    return { errors: results.reduce((n, r) => n + r.errors.size, 0), allowed: results.reduce((n, r) => n + (r.statuses.get(200) ?? 0), 0), limited: results.reduce((n, r) => n + (r.statuses.get(429) ?? 0), 0) };
  };
  await run(1000); // warm-up: what is measured is the limit held under sustained load
  const started = performance.now();
  const result = await run(3000);
  const elapsedMs = performance.now() - started;
  assert.equal(result.errors, 0);
  const allowed = result.allowed;
  const expected = (rate * elapsedMs) / 1000;
  t.diagnostic(`allowed ${allowed} in ${Math.round(elapsedMs)} ms over 2 workers (expected ${Math.round(expected)}; ${result.limited} limited)`);
  assert.ok(Math.abs(allowed - expected) <= 0.1 * expected, `allowed ${allowed}, expected ${Math.round(expected)} +- 10 % (one limit per worker would allow twice that)`);
  const perWorker = await Promise.all(workerAdminUrls(sibyl).map(async (url) => sampleValue(await scrapeMetrics(url), 'sibyl_protect_rate_limit_requests_total', { limit: 'machine', decision: 'allowed' })));
  assert.ok(perWorker.every((n) => n > 0), `both workers let requests through: ${perWorker.join(' + ')}`);
});

test('the workers share one retry model: they predict alike after a model sync interval', { timeout: 40_000 }, async (t) => {
  const backend = await scriptedBackend('app', () => 503);
  t.after(() => backend.close());
  const model = '[model]\nlearn_interval = "50ms"\nhash_bits = 16\n[retry]\nwindow = "1s"\nenabled = false\n[outlier_detection]\nenabled = false\n[load_shedding]\nenabled = false\n[shared]\nmodel_sync_interval = "1s"';
  const sibyl = await startSibyl(testConfig(`${REST}\n${model}\n${backendsToml([backend])}`, RUNTIME), { args: WORKERS });
  t.after(() => sibyl.stop());
  // okhttp-like clients retry every 503 once
  const population: Population = { name: 'okhttp', clients: 8, policy: { userAgent: 'okhttp/4.12', retries: (status, attempt) => status === 503 && attempt === 1, backoffMs: 10, maxAttempts: 2, thinkMs: 20 } };
  await drivePopulations(sibyl.proxyUrl, [population], { maxRequests: 1500, maxDurationMs: 4000 });
  const first = { status_code: 503, user_agent_family: 'okhttp', attempt: 1, method: 'GET', route: '/item/:id' };
  const second = { ...first, attempt: 2 };
  const settled = Date.now() + 3000; // the last labels (a retry window), then a sync interval
  const predictions = (await eventually(async () => {
    if (Date.now() < settled) return undefined;
    const perWorker = await Promise.all(workerAdminUrls(sibyl).map(async (url) => [(await predictRetry(url, first)).retry_probability, (await predictRetry(url, second)).retry_probability]));
    const [a, b] = perWorker as [[number, number], [number, number]];
    return Math.abs(a[0] - b[0]) < 0.02 && Math.abs(a[1] - b[1]) < 0.02 ? perWorker : undefined;
  }, 15_000, 250)) as [number, number][];
  t.diagnostic(`P(retry) of a first and a second okhttp 503, per worker: ${predictions.map(([p1, p2]) => `${p1.toFixed(3)} / ${p2.toFixed(3)}`).join(' | ')}`);
  // Every client is 127.0.0.1, so one worker saw all the traffic (and labelled every retry, as its
  // first attempt came to the same worker); the other knows what it learned only through the merge.
  for (const [p1, p2] of predictions) assert.ok(p1 > p2 + 0.1, 'both know these clients retry a first 503 and never a second');
  assert.ok(sampleValue(await scrapeMetrics(sibyl.adminUrl), 'sibyl_shared_syncs_total', { kind: 'model', store: 'workers', result: 'ok' }) >= 2);
});

test('one worker runs the active health checks; every worker routes around a backend they fail', { timeout: 30_000 }, async (t) => {
  const [a, b] = [await startTestBackend('a'), await startTestBackend('b')];
  t.after(() => a.close());
  t.after(() => b.close());
  let probesOfA = 0;
  a.server.on('request', (req: { url?: string }) => void (req.url === '/health' && probesOfA++));
  const health = '[health]\nenabled = true\ninterval = "200ms"\ntimeout = "100ms"\nhealthy_threshold = 1\nunhealthy_threshold = 1\njitter = 0\n[outlier_detection]\nenabled = false';
  const sibyl = await startSibyl(testConfig(`${health}\n${backendsToml([a, b])}`, RUNTIME), { args: WORKERS });
  t.after(() => sibyl.stop());
  const before = probesOfA;
  await new Promise((r) => setTimeout(r, 2000));
  const probes = probesOfA - before;
  // one checker: ~10 probes in 2 s at 200 ms; a checker per worker would send ~20
  assert.ok(probes >= 4 && probes <= 14, `${probes} probes of backend a in 2 s`);

  a.status = 503; // its /health fails from now on
  const servedBy = async (localAddress: string) => {
    const dispatcher = new Agent({ localAddress });
    try {
      const res = await request(`${sibyl.proxyUrl}/x`, { dispatcher });
      await res.body.text();
      return String(res.headers['x-served-by']);
    } finally {
      await dispatcher.close();
    }
  };
  // 127.0.0.1 and 127.0.0.4 are served by different workers
  await eventually(async () => {
    const seen = await Promise.all(Array.from({ length: 12 }, (_, i) => servedBy(i % 2 === 0 ? '127.0.0.1' : '127.0.0.4')));
    return seen.every((s) => s === 'b');
  }, 5000, 100);
  // under a loaded test run a worker's gauge has been seen to lag the routing: read until both agree
  const perWorker = async () => Promise.all(workerAdminUrls(sibyl).map(async (url) => sampleValue(await scrapeMetrics(url), 'sibyl_backend_healthy', { backend: 'a' })));
  let last: unknown[] = [];
  const isBothUnhealthy = await eventually(async () => {
    last = await perWorker();
    return last.length === 2 && last.every((v) => v === 0);
  }, 5000, 100).then(() => true, () => false);
  assert.ok(isBothUnhealthy, `both workers hold a unhealthy: ${JSON.stringify(last)}`);
});
