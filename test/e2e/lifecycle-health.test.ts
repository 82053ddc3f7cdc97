// Backends leaving and rejoining the pool: outlier ejection and return, active health checks,
// and an operator's drain through the admin API. The real `sibyl` binary, real backends.
import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import { test, type TestContext } from 'node:test';
import { request } from 'undici';
import { backendsToml, startTestBackend, type TestBackend } from '../helpers/backends.ts';
import { adminJson, backendView, metricValue, testConfig, type BackendView } from '../helpers/sibyl-control.ts';
import { eventually, startSibyl, type SibylProcess } from '../helpers/sibyl-process.ts';
import { describeLoad, runLoad } from '../helpers/steady-load.ts';

async function serve(t: TestContext, backends: TestBackend[], sections: string): Promise<SibylProcess> {
  t.after(() => Promise.all(backends.map((b) => b.close())));
  const sibyl = await startSibyl(testConfig(`${sections}\n\n${backendsToml(backends)}`));
  t.after(() => sibyl.stop());
  return sibyl;
}

function answer(res: ServerResponse, name: string): void {
  res.writeHead(200, { 'content-type': 'text/plain', 'x-served-by': name });
  res.end(name);
}

async function get(url: string): Promise<{ status: number; body: string }> {
  const res = await request(url);
  return { status: res.statusCode, body: await res.body.text() };
}

test('outlier detection ejects a backend after consecutive 5xx and returns it after base_ejection_time', async (t) => {
  const backends = await Promise.all(['a', 'b', 'c'].map((n) => startTestBackend(n)));
  const [a, b, c] = backends as [TestBackend, TestBackend, TestBackend];
  // active checks off: only live traffic can take `a` out
  const sibyl = await serve(t, backends, '[health]\nenabled = false\n\n[outlier_detection]\nconsecutive_5xx = 3\nbase_ejection_time = "1s"\nmax_ejection_time = "10s"\n# the thresholds as configured: not tightened by what the retry model predicts\ntighten_by_predicted_retries = false');

  a.status = 500;
  let fivexx = 0;
  let ejectedAtMs = 0;
  // round robin: every third request reaches `a`; the third 500 ejects it
  // (a distinct resource each time: the same URL again after a 500 is a client retry, and
  // retry-aware routing sends a retry away from the backend that failed it)
  for (let i = 0; i < 30 && fivexx < 3; i++) {
    const res = await get(`${sibyl.proxyUrl}/before/${i}`);
    if (res.status === 500) {
      fivexx++;
      ejectedAtMs = Date.now();
    }
  }
  assert.equal(fivexx, 3, 'clients saw the three 500s of `a` before the ejection');
  assert.equal(await metricValue(sibyl.adminUrl, 'sibyl_backend_ejected', { backend: 'a' }), 1);
  assert.equal((await backendView(sibyl.adminUrl, 'a'))?.isEjected, true);

  const seenByA = a.seen.length;
  const during = await runLoad(sibyl.proxyUrl, { concurrency: 2, maxRequests: 30, maxDurationMs: 5000 });
  assert.equal(during.statuses.get(200), 30, `while ejected, every request goes to a healthy backend: ${describeLoad(during)}`);
  assert.equal(a.seen.length, seenByA, 'an ejected backend gets no traffic');
  assert.ok(b.seen.length > 0 && c.seen.length > 0);

  a.status = 200;
  // keep light traffic flowing until `a` serves again (bounded by the deadline and a request count)
  let sent = 0;
  const returnedAtMs = await eventually(async () => {
    sent++;
    assert.ok(sent < 2000, 'too many requests while waiting for the return');
    await get(`${sibyl.proxyUrl}/after`);
    return a.seen.length > seenByA ? Date.now() : 0;
  }, 10_000, 10);
  const ejectedForMs = returnedAtMs - ejectedAtMs;
  assert.ok(ejectedForMs >= 900, `returned after ${ejectedForMs} ms, before base_ejection_time (1 s)`);
  assert.ok(ejectedForMs < 5000, `returned only after ${ejectedForMs} ms`);
  assert.equal(await metricValue(sibyl.adminUrl, 'sibyl_backend_ejected', { backend: 'a' }), 0);
  assert.equal(await metricValue(sibyl.adminUrl, 'sibyl_outlier_ejections_total', { backend: 'a' }), 1);
});

test('active health checks mark a backend with a failing /health unhealthy, route around it, and bring it back', async (t) => {
  const backends = await Promise.all(['a', 'b'].map((n) => startTestBackend(n, (_req, res) => answer(res, n))));
  const [a, b] = backends as [TestBackend, TestBackend];
  // panic mode off: with one of two backends down the survivor alone must take the traffic;
  // outlier detection off: `a` answers live requests fine, only its health check fails
  const sibyl = await serve(
    t,
    backends,
    '[health]\ninterval = "100ms"\ntimeout = "50ms"\nunhealthy_threshold = 2\nhealthy_threshold = 2\npanic_threshold = 0\n\n[outlier_detection]\nenabled = false',
  );
  assert.equal((await backendView(sibyl.adminUrl, 'a'))?.isHealthy, true);

  a.status = 503; // the helper answers /health with 503 from now on; other paths still get 200
  await eventually(async () => (await backendView(sibyl.adminUrl, 'a'))?.isHealthy === false, 5000);
  assert.equal(await metricValue(sibyl.adminUrl, 'sibyl_backend_healthy', { backend: 'a' }), 0);
  const ready = await get(`${sibyl.adminUrl}/health`);
  assert.equal((JSON.parse(ready.body) as { status: string }).status, 'degraded');

  const seenByA = a.seen.length;
  const down = await runLoad(sibyl.proxyUrl, { concurrency: 2, maxRequests: 40, maxDurationMs: 5000 });
  assert.equal(down.statuses.get(200), 40, describeLoad(down));
  assert.equal(a.seen.length, seenByA, 'an unhealthy backend gets no traffic');
  assert.ok(b.seen.length >= 40);

  a.status = 200;
  await eventually(async () => (await backendView(sibyl.adminUrl, 'a'))?.isHealthy === true, 5000);
  const up = await runLoad(sibyl.proxyUrl, { concurrency: 2, maxRequests: 40, maxDurationMs: 5000 });
  assert.equal(up.statuses.get(200), 40, describeLoad(up));
  assert.ok(a.seen.length >= seenByA + 15, `a recovered backend gets its share again: ${describeLoad(up)}`);
});

test('a drained backend gets no new requests while its in-flight request completes; undrain restores it', async (t) => {
  // /slow is held until the test releases it
  const held: (() => void)[] = [];
  const handler = (name: string) => (req: { url?: string }, res: ServerResponse) => {
    if (req.url === '/slow') held.push(() => answer(res, name));
    else answer(res, name);
  };
  const backends = await Promise.all(['a', 'b'].map((n) => startTestBackend(n, handler(n))));
  const sibyl = await serve(t, backends, '[health]\nenabled = false');
  t.after(() => held.forEach((release) => release()));

  const slow = request(`${sibyl.proxyUrl}/slow`).then(async (res) => ({ status: res.statusCode, body: await res.body.text() }));
  const target = await eventually(() => backends.find((b) => b.seen.some((s) => s.url === '/slow')));
  assert.ok(target !== undefined);
  const other = backends.find((b) => b !== target)!;

  const drained = await adminJson<BackendView>(sibyl.adminUrl, `/api/backends/${target.name}/drain`, 'POST');
  assert.equal(drained.status, 200);
  assert.equal(drained.body.isDraining, true);
  assert.equal(drained.body.inFlight, 1, 'the slow request is still in flight on the drained backend');
  assert.equal(await metricValue(sibyl.adminUrl, 'sibyl_backend_draining', { backend: target.name }), 1);

  const seenByTarget = target.seen.length;
  const during = await runLoad(sibyl.proxyUrl, { concurrency: 2, maxRequests: 30, maxDurationMs: 5000 });
  assert.equal(during.statuses.get(200), 30, describeLoad(during));
  assert.equal(target.seen.length, seenByTarget, 'a drained backend gets no new requests');
  assert.equal(during.byBackend.get(other.name), 30);

  held.splice(0).forEach((release) => release());
  assert.deepEqual(await slow, { status: 200, body: target.name }, 'the in-flight request on the drained backend completes');

  const undrained = await adminJson<BackendView>(sibyl.adminUrl, `/api/backends/${target.name}/undrain`, 'POST');
  assert.equal(undrained.status, 200);
  assert.equal(undrained.body.isDraining, false);
  const after = await runLoad(sibyl.proxyUrl, { concurrency: 2, maxRequests: 30, maxDurationMs: 5000 });
  assert.equal(after.statuses.get(200), 30, describeLoad(after));
  assert.ok((after.byBackend.get(target.name) ?? 0) >= 10, `an undrained backend gets traffic again: ${describeLoad(after)}`);

  const unknown = await adminJson<{ code: string }>(sibyl.adminUrl, '/api/backends/nope/drain', 'POST');
  assert.equal(unknown.status, 404);
});
