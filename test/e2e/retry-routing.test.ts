// Retry-aware routing through the real binary: a client's retry avoids the backend that failed
// its previous attempt, even under a sticky strategy that would send it straight back there.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { request } from 'undici';
import { backendsToml, startTestBackend } from '../helpers/backends.ts';
import { httpToml, sampleValue, scrapeMetrics } from '../helpers/http-fixture.ts';
import { startSibyl } from '../helpers/sibyl-process.ts';

test('a client retry after a 503 goes to another backend, though ip_hash is sticky', async (t) => {
  const bad = await startTestBackend('bad', (_req, res) => {
    res.writeHead(503, { 'x-served-by': 'bad' });
    res.end('no');
  });
  const good = await startTestBackend('good');
  t.after(() => Promise.all([bad.close(), good.close()]));
  const sibyl = await startSibyl(
    httpToml({
      rest: '[health]\nenabled = false\n[outlier_detection]\nenabled = false\n[retry]\nenabled = false\n[strategy]\nalgorithm = "ip_hash"\nhash_key = "header:x-user"',
      backends: backendsToml([bad, good]),
    }),
  );
  t.after(() => sibyl.stop());
  const get = async (user: string, path: string) => {
    const res = await request(`${sibyl.proxyUrl}${path}`, { headers: { 'x-user': user, 'x-client-id': user } });
    await res.body.text();
    return { status: res.statusCode, servedBy: String(res.headers['x-served-by']) };
  };
  // find users that ip_hash pins to the failing backend (fresh paths: first attempts only)
  const pinned: string[] = [];
  for (let i = 0; i < 40 && pinned.length < 5; i++) {
    const first = await get(`user-${i}`, `/probe/${i}`);
    if (first.servedBy === 'bad') pinned.push(`user-${i}`);
  }
  assert.ok(pinned.length >= 3, `users pinned to bad: ${pinned.length}`);
  for (const user of pinned) {
    const path = `/order/${user}`;
    const first = await get(user, path);
    assert.deepEqual(first, { status: 503, servedBy: 'bad' }, 'sticky: the first attempt goes to bad');
    const retry = await get(user, path);
    assert.deepEqual(retry, { status: 200, servedBy: 'good' }, 'the retry avoided the backend that failed it');
    const fresh = await get(user, `/new/${user}`);
    assert.equal(fresh.servedBy, 'bad', 'a new request keeps its sticky backend');
  }
  const metrics = await scrapeMetrics(sibyl.adminUrl);
  assert.ok(sampleValue(metrics, 'sibyl_telemetry_attempts_total', { attempt: '2' }) >= pinned.length);
});
