// Rate limits through the real binary: a burst beyond a client's bucket gets 429 with Retry-After
// and the RateLimit / RateLimit-Policy fields and never reaches a backend; limits are per key and
// per path prefix; a hot reload keeps the buckets of unchanged limits; /metrics counts it all.
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { test } from 'node:test';
import { request } from 'undici';
import { backendsToml, startTestBackend } from '../helpers/backends.ts';
import { assertSibylError, httpToml, sampleValue, scrapeMetrics } from '../helpers/http-fixture.ts';
import { adminJson } from '../helpers/sibyl-control.ts';
import { startSibyl } from '../helpers/sibyl-process.ts';

const LIMITS = `
[[rate_limits]]
name = "api-per-ip"
path_prefix = "/api"
rate = 0.5
burst = 3
[[rate_limits]]
name = "per-tenant"
key = "header:x-tenant"
rate = 0.5
burst = 2
`;

const config = (backends: string, limits: string) => httpToml({ rest: `[health]\nenabled = false\n[runtime]\nconfig_watch_interval_millis = 600000\n${limits}`, backends });

async function get(url: string, headers: Record<string, string> = {}) {
  const res = await request(url, { headers });
  return { status: res.statusCode, headers: res.headers, body: await res.body.text() };
}

test('a burst beyond the bucket gets 429 + Retry-After + RateLimit fields; other keys and paths pass', async (t) => {
  const backend = await startTestBackend('app');
  t.after(() => backend.close());
  const sibyl = await startSibyl(config(backendsToml([backend]), LIMITS));
  t.after(() => sibyl.stop());

  const burst = await Promise.all(Array.from({ length: 8 }, (_, i) => get(`${sibyl.proxyUrl}/api/items/${i}`)));
  const ok = burst.filter((r) => r.status === 200);
  const limited = burst.filter((r) => r.status === 429);
  assert.equal(ok.length, 3, JSON.stringify(burst.map((r) => r.status)));
  assert.equal(limited.length, 5);
  for (const r of limited) {
    assertSibylError(r, 429, 'SIBYL_ERR_PROTECT_RATE_LIMITED');
    // 0.5 tokens/s: the next token is at most 2 s away
    assert.match(String(r.headers['retry-after']), /^[12]$/);
    assert.equal(r.headers['ratelimit-policy'], '"api-per-ip";q=3;w=6');
    assert.match(String(r.headers.ratelimit), /^"api-per-ip";r=0;t=[12]$/);
  }
  assert.equal(backend.seen.length, 3, 'refused requests never reach a backend');

  assert.equal((await get(`${sibyl.proxyUrl}/other`)).status, 200, 'outside path_prefix: not limited by api-per-ip');
  const tenant = await Promise.all(Array.from({ length: 3 }, () => get(`${sibyl.proxyUrl}/other`, { 'x-tenant': 'acme' })));
  assert.deepEqual(tenant.map((r) => r.status).sort(), [200, 200, 429], 'per-tenant: a bucket of 2 for tenant acme');
  assert.equal((await get(`${sibyl.proxyUrl}/other`, { 'x-tenant': 'globex' })).status, 200, 'another tenant has its own bucket');

  const metrics = await scrapeMetrics(sibyl.adminUrl);
  assert.equal(sampleValue(metrics, 'sibyl_protect_rate_limit_requests_total', { limit: 'api-per-ip', decision: 'allowed' }), 3);
  assert.equal(sampleValue(metrics, 'sibyl_protect_rate_limit_requests_total', { limit: 'api-per-ip', decision: 'limited' }), 5);
  assert.equal(sampleValue(metrics, 'sibyl_protect_rate_limit_requests_total', { limit: 'per-tenant', decision: 'limited' }), 1);
  assert.equal(sampleValue(metrics, 'sibyl_proxy_requests_total', { backend: 'none', status_class: '4xx' }), 6);
});

test('a hot reload keeps the buckets of unchanged limits and starts changed ones afresh', async (t) => {
  const backend = await startTestBackend('app');
  t.after(() => backend.close());
  const sibyl = await startSibyl(config(backendsToml([backend]), LIMITS));
  t.after(() => sibyl.stop());
  for (let i = 0; i < 3; i++) assert.equal((await get(`${sibyl.proxyUrl}/api/x`)).status, 200);
  assert.equal((await get(`${sibyl.proxyUrl}/api/x`)).status, 429);

  // per-tenant changes, api-per-ip does not
  await writeFile(sibyl.configPath, config(backendsToml([backend]), LIMITS.replace('burst = 2', 'burst = 5')));
  assert.equal((await adminJson<{ ok: boolean }>(sibyl.adminUrl, '/api/reload', 'POST')).body.ok, true);
  assert.equal((await get(`${sibyl.proxyUrl}/api/x`)).status, 429, 'api-per-ip kept its empty bucket');

  await writeFile(sibyl.configPath, config(backendsToml([backend]), LIMITS.replace('burst = 3', 'burst = 4')));
  assert.equal((await adminJson<{ ok: boolean }>(sibyl.adminUrl, '/api/reload', 'POST')).body.ok, true);
  assert.equal((await get(`${sibyl.proxyUrl}/api/x`)).status, 200, 'api-per-ip changed: a full bucket again');
});
