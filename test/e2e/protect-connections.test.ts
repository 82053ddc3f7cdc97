// Connection protection through the real binary: max_connections_per_ip caps what one client IP
// holds (slowloris included), the header timeout cuts trickling clients, idle keep-alive
// connections are closed after keep_alive_timeout, and /metrics counts each of them.
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { test } from 'node:test';
import { backendsToml, startTestBackend } from '../helpers/backends.ts';
import { httpToml, sampleValue, scrapeMetrics } from '../helpers/http-fixture.ts';
import { readRaw } from '../helpers/raw-http.ts';
import { eventually, startSibyl } from '../helpers/sibyl-process.ts';

/** A connection to the proxy from a chosen loopback source address (Linux routes all of 127/8 to lo). */
function openFrom(proxyUrl: string, localAddress: string): Promise<Socket> {
  const { hostname, port } = new URL(proxyUrl);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: hostname, port: Number(port), localAddress }, () => resolve(socket));
    socket.once('error', reject);
  });
}

async function served(socket: Socket, path: string): Promise<number> {
  const reading = readRaw(socket, { untilResponse: true, timeoutMs: 5000 });
  socket.write(`GET ${path} HTTP/1.1\r\nHost: app.example\r\n\r\n`);
  return (await reading).status;
}

test('max_connections_per_ip: slowloris connections beyond the cap are closed at once, the rest cut by the header timeout; other IPs unaffected', { timeout: 30_000 }, async (t) => {
  const backend = await startTestBackend('app');
  t.after(() => backend.close());
  const sibyl = await startSibyl(httpToml({ proxy: 'max_connections_per_ip = 2\nclient_header_timeout = "400ms"\nclient_request_timeout = "2s"', backends: backendsToml([backend]) }));
  t.after(() => sibyl.stop());

  // a slowloris client: two connections trickling header bytes, never finishing
  const slow = await Promise.all([openFrom(sibyl.proxyUrl, '127.0.0.1'), openFrom(sibyl.proxyUrl, '127.0.0.1')]);
  const slowAnswers = slow.map((s) => readRaw(s, { timeoutMs: 10_000 }));
  for (const s of slow) s.write('GET /slow HTTP/1.1\r\nHost: app.example\r\nX-Trickle: a');
  await eventually(async () => sampleValue(await scrapeMetrics(sibyl.adminUrl), 'sibyl_proxy_open_connections') === 2);

  const third = await openFrom(sibyl.proxyUrl, '127.0.0.1');
  const thirdAnswer = await readRaw(third, { timeoutMs: 5000 });
  assert.equal(thirdAnswer.raw, '', 'closed without a response');
  assert.equal(thirdAnswer.isClosed, true);

  const other = await openFrom(sibyl.proxyUrl, '127.0.0.2');
  assert.equal(await served(other, '/other-ip'), 200, 'another client IP has its own allowance');
  other.destroy();

  for (const answer of await Promise.all(slowAnswers)) {
    assert.equal(answer.status, 408, 'the header timeout cuts the trickling connection');
    assert.equal(answer.isClosed, true);
  }
  await eventually(async () => sampleValue(await scrapeMetrics(sibyl.adminUrl), 'sibyl_proxy_open_connections') === 0, 5000);
  const fresh = await openFrom(sibyl.proxyUrl, '127.0.0.1');
  assert.equal(await served(fresh, '/after'), 200, 'the IP gets connections again once its slowloris ones are gone');
  fresh.destroy();
  const metrics = await scrapeMetrics(sibyl.adminUrl);
  assert.equal(sampleValue(metrics, 'sibyl_proxy_connections_per_ip_rejected_total'), 1);
  assert.equal(sampleValue(metrics, 'sibyl_proxy_limit_rejections_total', { limit: 'client_timeout' }), 2);
  assert.deepEqual(backend.seen.map((r) => r.url).sort(), ['/after', '/other-ip']);
});

test('an idle keep-alive connection is closed after keep_alive_timeout and counted', { timeout: 30_000 }, async (t) => {
  const backend = await startTestBackend('app');
  t.after(() => backend.close());
  const sibyl = await startSibyl(httpToml({ proxy: 'keep_alive_timeout = "300ms"', backends: backendsToml([backend]) }));
  t.after(() => sibyl.stop());
  const socket = await openFrom(sibyl.proxyUrl, '127.0.0.1');
  assert.equal(await served(socket, '/one'), 200);
  const closed = await readRaw(socket, { timeoutMs: 5000 });
  assert.equal(closed.isClosed, true, 'Sibyl closed the idle connection');
  const metrics = await eventually(async () => {
    const m = await scrapeMetrics(sibyl.adminUrl);
    return sampleValue(m, 'sibyl_proxy_idle_timeouts_total') === 1 ? m : undefined;
  }, 5000);
  assert.equal(sampleValue(metrics as string, 'sibyl_proxy_open_connections'), 0);
});
