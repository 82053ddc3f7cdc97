// A load generator's traffic through the real binary: one client (one IP, no User-Agent) sends the
// same successful GET over many keep-alive connections at once, closes them all, and does it again.
// None of it is a client retry: they are repeats, the retry share and the detector stay at rest,
// and every response is predicted 0 (a success is never retried). bench/identical-gets.ts does the
// same with wrk.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Pool } from 'undici';
import { backendsToml, startTestBackend } from '../helpers/backends.ts';
import { httpToml, sampleValue, scrapeMetrics } from '../helpers/http-fixture.ts';
import { startSibyl } from '../helpers/sibyl-process.ts';

const CONNECTIONS = 32;
const REQUESTS_PER_ROUND = 1500;

async function round(url: string): Promise<number> {
  const pool = new Pool(url, { connections: CONNECTIONS, pipelining: 1 });
  let sent = 0;
  let ok = 0;
  const worker = async (): Promise<void> => {
    while (sent < REQUESTS_PER_ROUND) {
      sent++;
      const res = await pool.request({ path: '/items/42?view=full', method: 'GET' });
      await res.body.dump();
      if (res.statusCode === 200) ok++;
    }
  };
  await Promise.all(Array.from({ length: CONNECTIONS }, worker));
  // as wrk does at the end of a run: every connection closed at once
  await pool.destroy();
  return ok;
}

test('identical successful GETs from one client over many connections are repeats, never retries', async (t) => {
  const backend = await startTestBackend('app');
  t.after(() => backend.close());
  // [metrics] interval 1 s: the derived gauges (retry share) are published while the test reads them
  const sibyl = await startSibyl(httpToml({ rest: '[health]\nenabled = false\n[metrics]\ninterval = "1s"', backends: backendsToml([backend]) }));
  t.after(() => sibyl.stop());
  let ok = 0;
  for (let r = 0; r < 3; r++) ok += await round(sibyl.proxyUrl);
  assert.equal(ok, 3 * REQUESTS_PER_ROUND, 'every request answered 200');
  const metrics = await scrapeMetrics(sibyl.adminUrl);
  const value = (name: string, labels: Record<string, string> = {}): number => sampleValue(metrics, name, labels) ?? 0;
  assert.equal(value('sibyl_telemetry_attempts_total', { attempt: '1' }), 3 * REQUESTS_PER_ROUND);
  for (const attempt of ['2', '3', '4+']) assert.equal(value('sibyl_telemetry_attempts_total', { attempt }), 0, `attempt ${attempt}`);
  assert.ok(value('sibyl_telemetry_repeats_total') > REQUESTS_PER_ROUND, 'the same request again and again: repeats');
  assert.equal(value('sibyl_telemetry_labels_total', { retried: '1' }), 0);
  assert.equal(value('sibyl_retry_client_retry_ratio'), 0);
  assert.equal(value('sibyl_protect_storm_state', { state: 'healthy' }), 1);
  const predictions = value('sibyl_model_predicted_retry_probability_count');
  assert.equal(predictions, 3 * REQUESTS_PER_ROUND);
  assert.equal(value('sibyl_model_predicted_retry_probability_bucket', { le: '0.05' }), predictions, 'every prediction below 0.05');
});
