// Sibyl's own retries through the real binary: safe by construction, to another backend, counted
// by reason, within the budget; a response that is not retried reaches the client intact.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { request } from 'undici';
import { backendsToml, startTestBackend, type TestBackend } from '../helpers/backends.ts';
import { httpToml, sampleValue, scrapeMetrics } from '../helpers/http-fixture.ts';
import { closedPort } from '../helpers/raw-backend.ts';
import { startSibyl, type SibylProcess } from '../helpers/sibyl-process.ts';

function toml(backends: string, retry = ''): string {
  return httpToml({ rest: `[health]\nenabled = false\n[outlier_detection]\nenabled = false\n[strategy]\nalgorithm = "round_robin"\n[retry]\n${retry}`, backends });
}

async function failingAndHealthy(t: { after: (fn: () => unknown) => void }) {
  const bad = await startTestBackend('bad', (_req, res, body) => {
    res.writeHead(503, { 'content-type': 'text/plain', 'x-served-by': 'bad' });
    res.end(`bad says no (${body.length})`);
  });
  const good = await startTestBackend('good', (_req, res, body) => {
    res.writeHead(200, { 'content-type': 'text/plain', 'x-served-by': 'good' });
    res.end(`good:${body}`);
  });
  t.after(() => Promise.all([bad.close(), good.close()]));
  return { bad, good };
}

async function send(sibyl: SibylProcess, method: string, path: string, body?: string, headers: Record<string, string> = {}) {
  const res = await request(`${sibyl.proxyUrl}${path}`, { method: method as 'GET', body, headers });
  return { status: res.statusCode, servedBy: res.headers['x-served-by'], text: await res.body.text() };
}

async function decisions(sibyl: SibylProcess, decision: string): Promise<number> {
  return sampleValue(await scrapeMetrics(sibyl.adminUrl), 'sibyl_retry_decisions_total', { decision });
}

test('a 503 on a GET is retried on the other backend; the client sees the good answer', async (t) => {
  const { bad, good } = await failingAndHealthy(t);
  const sibyl = await startSibyl(toml(backendsToml([bad, good])));
  t.after(() => sibyl.stop());
  for (let i = 0; i < 10; i++) {
    const r = await send(sibyl, 'GET', `/item/${i}`);
    assert.equal(r.status, 200);
    assert.equal(r.servedBy, 'good');
  }
  // round robin also advances on the re-pick, so first attempts may keep landing on bad
  assert.ok(bad.seen.length >= 5, String(bad.seen.length));
  assert.equal(good.seen.length, 10);
  assert.equal(await decisions(sibyl, 'retried'), bad.seen.length, 'every failed attempt was retried, once');
  const metrics = await scrapeMetrics(sibyl.adminUrl);
  assert.equal(sampleValue(metrics, 'sibyl_retry_backend_attempts_total'), 10 + bad.seen.length);
});

test('a POST is not retried without an Idempotency-Key, and is with one (same body on both backends)', async (t) => {
  const { bad, good } = await failingAndHealthy(t);
  const sibyl = await startSibyl(toml(backendsToml([bad, good])));
  t.after(() => sibyl.stop());
  let refused = 0;
  for (let i = 0; i < 4; i++) {
    const r = await send(sibyl, 'POST', '/pay', 'amount=5', { 'content-type': 'text/plain' });
    if (r.status === 503) {
      refused++;
      assert.equal(r.text, 'bad says no (8)', 'the held 503 reaches the client intact');
    }
  }
  assert.equal(refused, bad.seen.length, 'every POST that reached bad got its 503: none was retried');
  assert.ok(refused >= 2);
  assert.equal(await decisions(sibyl, 'method_not_idempotent'), refused);
  const badBefore = bad.seen.length;
  for (let i = 0; i < 4; i++) {
    const r = await send(sibyl, 'POST', '/pay', 'amount=7', { 'content-type': 'text/plain', 'idempotency-key': `k${i}` });
    assert.equal(r.status, 200);
    assert.equal(r.text, 'good:amount=7', 'the replayed body arrived whole');
  }
  assert.ok(bad.seen.length > badBefore, 'some keyed POSTs met bad first');
  assert.equal(await decisions(sibyl, 'retried'), bad.seen.length - badBefore);
});

test('a refused connection is retried for any method; a body over the replay buffer is not retried', async (t) => {
  const good = await startTestBackend('good');
  t.after(() => good.close());
  const closed = `127.0.0.1:${await closedPort()}`;
  const sibyl = await startSibyl(toml(`[[backends]]\nname = "closed"\naddress = "${closed}"\n\n${backendsToml([good])}`, 'replay_buffer_bytes = 16'));
  t.after(() => sibyl.stop());
  const statuses: number[] = [];
  for (let i = 0; i < 4; i++) statuses.push((await send(sibyl, 'POST', '/small', 'tiny', { 'content-type': 'text/plain' })).status);
  assert.deepEqual(statuses, [200, 200, 200, 200], 'refused before sending: safe to retry a POST');
  const big: number[] = [];
  for (let i = 0; i < 4; i++) big.push((await send(sibyl, 'PUT', '/big', 'x'.repeat(100), { 'content-type': 'text/plain' })).status);
  const failed = big.filter((s) => s === 502).length;
  assert.ok(failed >= 2, 'the streamed body could not be replayed');
  assert.equal(await decisions(sibyl, 'body_not_replayable'), failed);
});

test('the budget caps retries: with no budget nothing is retried and each refusal is counted', async (t) => {
  const { bad, good } = await failingAndHealthy(t);
  const sibyl = await startSibyl(toml(backendsToml([bad, good]), 'budget_ratio = 0\nbudget_min_per_second = 0'));
  t.after(() => sibyl.stop());
  const statuses: number[] = [];
  for (let i = 0; i < 6; i++) statuses.push((await send(sibyl, 'GET', `/x/${i}`)).status);
  const refusedByBudget = statuses.filter((s) => s === 503).length;
  assert.equal(refusedByBudget, bad.seen.length);
  assert.equal(await decisions(sibyl, 'budget_exhausted'), refusedByBudget);
  assert.equal(await decisions(sibyl, 'retried'), 0);
});

test('with one backend there is nowhere else to go: the 503 is relayed as the backend sent it', async (t) => {
  const only: TestBackend = await startTestBackend('only', (_req, res) => {
    res.writeHead(503, { 'retry-after': '7', 'x-served-by': 'only' });
    res.end('only says no');
  });
  t.after(() => only.close());
  const sibyl = await startSibyl(toml(backendsToml([only])));
  t.after(() => sibyl.stop());
  const res = await request(`${sibyl.proxyUrl}/a`);
  assert.equal(res.statusCode, 503);
  assert.equal(res.headers['retry-after'], '7');
  assert.equal(await res.body.text(), 'only says no');
  assert.equal(await decisions(sibyl, 'no_other_backend'), 1);
});
