// Load shedding through the real binary: beyond each backend's learned concurrency, requests wait
// in Sibyl's bounded queue; a full queue or a passed deadline sheds with 503 + Retry-After; a
// queued request whose client leaves is dropped before any backend sees it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { request } from 'undici';
import { backendsToml, startTestBackend } from '../helpers/backends.ts';
import { httpToml, sampleValue, scrapeMetrics } from '../helpers/http-fixture.ts';
import { eventually, startSibyl } from '../helpers/sibyl-process.ts';

const config = (backends: string, queue: string) =>
  httpToml({ rest: `[health]\nenabled = false\n[retry]\nenabled = false\n[load_shedding]\nenabled = true\ninitial_limit = 2\nmin_limit = 2\n${queue}`, backends });

async function slowBackend(t: { after: (fn: () => unknown) => void }, delayMs: number) {
  const b = await startTestBackend('slow', (_req, res) => {
    setTimeout(() => {
      res.writeHead(200, { 'x-served-by': 'slow' });
      res.end('done');
    }, delayMs);
  });
  t.after(() => b.close());
  return b;
}

test('a burst beyond the limit and the queue is shed with 503 + Retry-After, the rest is served', async (t) => {
  const backend = await slowBackend(t, 300);
  const sibyl = await startSibyl(config(backendsToml([backend]), 'max_queue = 4\nmax_queue_wait = "5s"'));
  t.after(() => sibyl.stop());
  const results = await Promise.all(
    Array.from({ length: 20 }, async (_, i) => {
      const res = await request(`${sibyl.proxyUrl}/burst/${i}`);
      const body = await res.body.text();
      return { status: res.statusCode, retryAfter: res.headers['retry-after'], body };
    }),
  );
  const served = results.filter((r) => r.status === 200);
  const shed = results.filter((r) => r.status === 503);
  // initial_limit = 2: two in flight, four queued, the rest shed
  assert.equal(served.length, 6, JSON.stringify(results.map((r) => r.status)));
  assert.equal(shed.length, 14);
  for (const r of shed) {
    assert.match(String(r.retryAfter), /^[1-9]\d?$/);
    assert.equal((JSON.parse(r.body) as { code: string }).code, 'SIBYL_ERR_PROTECT_SHED');
  }
  assert.equal(backend.seen.length, 6, 'shed requests never reached the backend');
  const metrics = await scrapeMetrics(sibyl.adminUrl);
  assert.equal(sampleValue(metrics, 'sibyl_protect_shed_total', { reason: 'queue_full' }), 14);
});

test('a queued request past its deadline is shed; one whose client leaves is dropped unseen', async (t) => {
  const backend = await slowBackend(t, 600);
  const sibyl = await startSibyl(config(backendsToml([backend]), 'max_queue = 10\nmax_queue_wait = "200ms"'));
  t.after(() => sibyl.stop());
  const busy = [request(`${sibyl.proxyUrl}/busy/1`), request(`${sibyl.proxyUrl}/busy/2`)];
  await eventually(() => backend.seen.length === 2);
  const late = await request(`${sibyl.proxyUrl}/late`);
  assert.equal(late.statusCode, 503, 'waited 200 ms for a slot, then shed');
  await late.body.text();
  const leaving = new AbortController();
  const gone = request(`${sibyl.proxyUrl}/gone`, { signal: leaving.signal }).catch((err: Error) => err.name);
  setTimeout(() => leaving.abort(), 50);
  assert.equal(await gone, 'AbortError');
  for (const r of await Promise.all(busy)) await r.body.text();
  const metrics = (await eventually(async () => {
    const m = await scrapeMetrics(sibyl.adminUrl);
    return sampleValue(m, 'sibyl_protect_queue_abandoned_total') === 1 ? m : undefined;
  })) as string;
  assert.equal(sampleValue(metrics, 'sibyl_protect_shed_total', { reason: 'deadline' }), 1);
  assert.deepEqual(backend.seen.map((r) => r.url).sort(), ['/busy/1', '/busy/2'], 'neither the shed nor the abandoned request reached the backend');
});

// Regression: the limiter once measured a queued request from its arrival, so the time it waited
// in Sibyl's own queue made the backend look overloaded: the limit sank to min_limit and stayed
// there while the queue was full (the live experiment's brownout never recovered).
test('time spent in Sibyl\'s queue is not taken for backend latency: the limit holds under a queued burst', async (t) => {
  const backend = await slowBackend(t, 150);
  const sibyl = await startSibyl(
    httpToml({ rest: '[health]\nenabled = false\n[retry]\nenabled = false\n[load_shedding]\nenabled = true\ninitial_limit = 4\nmin_limit = 1\nmax_limit = 4', backends: backendsToml([backend]) }),
  );
  t.after(() => sibyl.stop());
  // light load first (one at a time): the no-load latency (~150 ms) is learned from 20 answers
  for (let i = 0; i < 21; i++) await (await request(`${sibyl.proxyUrl}/warm/${i}`)).body.text();
  // 24 at once: four in flight, the rest wait 150-750 ms in Sibyl's queue (the deadline is 1 s until
  // a client has given up), so a whole round of answers waited over 2x the no-load latency; the
  // backend never has more than four, so each attempt still takes ~150 ms
  const statuses = await Promise.all(
    Array.from({ length: 24 }, async (_, i) => {
      const res = await request(`${sibyl.proxyUrl}/burst/${i}`);
      await res.body.text();
      return res.statusCode;
    }),
  );
  const metrics = await scrapeMetrics(sibyl.adminUrl);
  // the last wave waits ~750 ms of its 1 s deadline: a very slow machine may shed one or two
  assert.ok(statuses.filter((s) => s === 200).length >= 20, `${statuses.filter((s) => s !== 200).length} not served; ${metrics.split('\n').filter((l) => l.startsWith('sibyl_protect_')).join('; ')}`);
  const limit = sampleValue(metrics, 'sibyl_protect_concurrency_limit', { backend: backend.name });
  assert.equal(limit, 4, `the limit sank to ${limit} although the backend never slowed down`);
});

test('a shed request is told to come back on the time scale of the queue, not of health checks', async (t) => {
  const backend = await slowBackend(t, 300);
  // health checks on (default 10 s x 2 to readmit a backend): that is the recovery of a pool with
  // no backend, not of an overload that clears as the queue drains
  const sibyl = await startSibyl(httpToml({ rest: '[retry]\nenabled = false\n[load_shedding]\nenabled = true\ninitial_limit = 1\nmin_limit = 1\nmax_queue = 1', backends: backendsToml([backend]) }));
  t.after(() => sibyl.stop());
  const answers = await Promise.all(
    Array.from({ length: 8 }, async (_, i) => {
      const res = await request(`${sibyl.proxyUrl}/spike/${i}`);
      await res.body.text();
      return { status: res.statusCode, retryAfter: Number(res.headers['retry-after']) };
    }),
  );
  const shed = answers.filter((a) => a.status === 503);
  assert.ok(shed.length >= 5, JSON.stringify(answers));
  for (const a of shed) assert.ok(a.retryAfter >= 1 && a.retryAfter <= 2, `Retry-After ${a.retryAfter} s for a shed request`);
});
