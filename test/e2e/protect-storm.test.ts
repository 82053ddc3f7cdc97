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
