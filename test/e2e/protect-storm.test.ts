// The metastability detector on live traffic: healthy while requests succeed; when every answer
// fails while capacity looks nominal and clients keep retrying, it says so (metric, admin API).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { request } from 'undici';
import { backendsToml, startTestBackend } from '../helpers/backends.ts';
import { httpToml, sampleValue, scrapeMetrics } from '../helpers/http-fixture.ts';
import { eventually, startSibyl } from '../helpers/sibyl-process.ts';

test('GET /api/storm goes healthy -> metastable when retries sustain failures with capacity nominal', async (t) => {
  const backend = await startTestBackend('b');
  t.after(() => backend.close());
  const sibyl = await startSibyl(
    httpToml({ rest: '[health]\nenabled = false\n[outlier_detection]\nenabled = false\n[retry]\nenabled = false', backends: backendsToml([backend]) }),
  );
  t.after(() => sibyl.stop());
  const storm = async () => (await (await request(`${sibyl.adminUrl}/api/storm`)).body.json()) as { state: string; retryShare: number };
  let n = 0;
  let isRunning = true;
  // a client that retries every failure once, on the same URL, as many do
  const client = (async () => {
    while (isRunning) {
      const path = `/r/${n++}`;
      for (let attempt = 0; attempt < 2 && isRunning; attempt++) {
        const res = await request(`${sibyl.proxyUrl}${path}`, { headers: { 'x-client-id': 'c1' } });
        await res.body.text();
        if (res.statusCode < 500) break;
      }
      await new Promise((r) => setTimeout(r, 5));
    }
  })();
  const stopClient = async () => {
    isRunning = false;
    await client;
  };
  t.after(stopClient);
  await eventually(async () => (await storm()).state === 'healthy', 5000);
  backend.status = 503;
  const report = await eventually(async () => {
    const r = await storm();
    return r.state === 'metastable' ? r : undefined;
  }, 15_000);
  assert.ok(report !== undefined && report.retryShare >= 0.3, JSON.stringify(report));
  const metrics = await scrapeMetrics(sibyl.adminUrl);
  assert.equal(sampleValue(metrics, 'sibyl_protect_storm_state', { state: 'metastable' }), 1);
  backend.status = 200;
  await eventually(async () => (await storm()).state === 'healthy', 5000);
  await stopClient();
});

test("a rate limit's 429s and the clients' retries of them are not a storm", async (t) => {
  const backend = await startTestBackend('b');
  t.after(() => backend.close());
  const limit = '[[rate_limits]]\nname = "per-client"\nkey = "header:x-client-id"\nrate = 40\nburst = 10';
  const sibyl = await startSibyl(httpToml({ rest: `[health]\nenabled = false\n${limit}`, backends: backendsToml([backend]) }));
  t.after(() => sibyl.stop());
  const storm = async () => (await (await request(`${sibyl.adminUrl}/api/storm`)).body.json()) as { state: string; successRatio: number; retryShare: number };
  let n = 0;
  let refused = 0;
  let isRunning = true;
  // a client well over its limit that retries each 429 twice, as got and undici's RetryAgent do
  const client = (async () => {
    while (isRunning) {
      const path = `/r/${n++}`;
      for (let attempt = 0; attempt < 3 && isRunning; attempt++) {
        const res = await request(`${sibyl.proxyUrl}${path}`, { headers: { 'x-client-id': 'c1' } });
        await res.body.text();
        if (res.statusCode !== 429) break;
        refused++;
        await new Promise((r) => setTimeout(r, 10));
      }
    }
  })();
  t.after(async () => {
    isRunning = false;
    await client;
  });
  // past the detector's sustain time (5 s) and a few of its ticks
  const states = new Set<string>();
  for (let i = 0; i < 16; i++) {
    await new Promise((r) => setTimeout(r, 500));
    states.add((await storm()).state);
  }
  isRunning = false;
  await client;
  assert.ok(refused > n / 2, `the limit refused ${refused} of ${n} logical requests' attempts`);
  assert.deepEqual([...states], ['healthy'], JSON.stringify(await storm()));
});
