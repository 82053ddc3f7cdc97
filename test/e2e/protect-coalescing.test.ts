// Coalescing through the real binary: identical requests of one client that arrive while the
// original is in flight get the original's response without reaching a backend; a POST is never
// coalesced without a matching Idempotency-Key; an original that fails sends its waiters on.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { request } from 'undici';
import { backendsToml, startTestBackend } from '../helpers/backends.ts';
import { httpToml, sampleValue, scrapeMetrics } from '../helpers/http-fixture.ts';
import { startSibyl } from '../helpers/sibyl-process.ts';

/** A backend that answers after 300 ms, numbering its answers, behind a Sibyl with coalescing on. */
async function startSlowSibyl(t: { after: (fn: () => unknown) => void }, rest = '[health]\nenabled = false\n[retry]\nenabled = false\n[coalescing]\nenabled = true') {
  let served = 0;
  const backend = await startTestBackend('slow', (req, res) => {
    const n = ++served;
    setTimeout(() => {
      if (res.destroyed) return;
      res.writeHead(200, { 'content-type': 'text/plain', 'x-served': String(n) });
      res.end(`answer ${n} to ${req.method} ${req.url}`);
    }, 300);
  });
  t.after(() => backend.close());
  const sibyl = await startSibyl(httpToml({ rest, backends: backendsToml([backend]) }));
  t.after(() => sibyl.stop());
  return { backend, sibyl };
}

async function send(url: string, init: { method?: string; headers?: Record<string, string>; body?: string; signal?: AbortSignal } = {}) {
  const res = await request(url, { method: init.method ?? 'GET', headers: { 'x-client-id': 'client-1', ...init.headers }, body: init.body, signal: init.signal });
  return { status: res.statusCode, body: await res.body.text(), served: res.headers['x-served'], requestId: res.headers['x-request-id'] };
}

test('identical GETs in flight get the original response; the backend sees one', async (t) => {
  const { backend, sibyl } = await startSlowSibyl(t);
  const answers = await Promise.all(Array.from({ length: 5 }, (_, i) => send(`${sibyl.proxyUrl}/item/7`, { headers: { 'x-request-id': `r${i}` } })));
  assert.equal(backend.seen.length, 1, 'one backend attempt for five identical requests');
  for (const [i, a] of answers.entries()) {
    assert.equal(a.status, 200);
    assert.equal(a.body, 'answer 1 to GET /item/7');
    assert.equal(a.served, '1');
    assert.equal(a.requestId, `r${i}`, 'each answer carries its own request id');
  }
  // another client, or another URL, is not the same request
  await Promise.all([send(`${sibyl.proxyUrl}/item/7`, { headers: { 'x-client-id': 'client-2' } }), send(`${sibyl.proxyUrl}/item/8`)]);
  assert.equal(backend.seen.length, 3);
  const metrics = await scrapeMetrics(sibyl.adminUrl);
  assert.equal(sampleValue(metrics, 'sibyl_protect_coalesced_total', { outcome: 'served' }), 4);
});

test('a POST coalesces only with the same Idempotency-Key', async (t) => {
  const { backend, sibyl } = await startSlowSibyl(t);
  const post = (key?: string) => send(`${sibyl.proxyUrl}/pay`, { method: 'POST', body: '{"amount":1}', headers: key === undefined ? {} : { 'idempotency-key': key } });
  await Promise.all([post(), post()]);
  assert.equal(backend.seen.length, 2, 'without a key every POST reaches the backend');
  const keyed = await Promise.all([post('k-1'), post('k-1'), post('k-2')]);
  assert.equal(backend.seen.length, 4, 'k-1 twice is one attempt, k-2 another');
  assert.equal(keyed[0]?.body, keyed[1]?.body);
  assert.notEqual(keyed[0]?.body, keyed[2]?.body);
});

test('when the original\'s client leaves before its answer, the waiters are sent on as ordinary requests', async (t) => {
  const { backend, sibyl } = await startSlowSibyl(t);
  const leaving = new AbortController();
  const original = send(`${sibyl.proxyUrl}/report`, { signal: leaving.signal }).catch((err: Error) => err.name);
  await new Promise((resolve) => setTimeout(resolve, 50));
  const waiter = send(`${sibyl.proxyUrl}/report`);
  await new Promise((resolve) => setTimeout(resolve, 50));
  leaving.abort();
  assert.equal(await original, 'AbortError');
  const answer = await waiter;
  assert.equal(answer.status, 200);
  assert.equal(answer.body, 'answer 2 to GET /report', 'the waiter made its own attempt');
  assert.equal(backend.seen.length, 2);
  const metrics = await scrapeMetrics(sibyl.adminUrl);
  assert.equal(sampleValue(metrics, 'sibyl_protect_coalesced_total', { outcome: 'sent' }), 1);
});

test('with a custom idempotency_key_header, POSTs with different keys both reach a backend; the same key coalesces', async (t) => {
  // mixed case in the config: header names are case-insensitive
  const { backend, sibyl } = await startSlowSibyl(t, '[health]\nenabled = false\n[retry]\nidempotency_key_header = "X-Order-Key"\n[coalescing]\nenabled = true');
  const post = (key: string) => send(`${sibyl.proxyUrl}/orders`, { method: 'POST', body: '{"item":"tea"}', headers: { 'x-order-key': key, 'idempotency-key': 'same-for-all' } });
  const [a, b] = await Promise.all([post('order-1'), post('order-2')]);
  assert.equal(backend.seen.length, 2, 'two keys are two orders: each reaches a backend');
  assert.notEqual(a.body, b.body);
  const [c, d] = await Promise.all([post('order-3'), post('order-3')]);
  assert.equal(backend.seen.length, 3, 'the same key twice in flight is one order');
  assert.equal(c.body, d.body);
});
