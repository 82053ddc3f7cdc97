// Limits and timeouts through the real binary: upstream failures map to 502/504, slow clients to
// 408, max_connections refuses sockets, idle keep-alive connections close, and /metrics counts it all.
import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { request } from 'undici';
import { backendsToml, startTestBackend, type TestBackend } from '../helpers/backends.ts';
import { assertSibylError, httpToml, logRequests, sampleValue, scrapeMetrics, until } from '../helpers/http-fixture.ts';
import { closedPort, startRawBackend, type RawBackend } from '../helpers/raw-backend.ts';
import { openRaw, rawRequest, readRaw } from '../helpers/raw-http.ts';
import { startSibyl, type SibylProcess } from '../helpers/sibyl-process.ts';

function oneBackend(name: string, address: string): string {
  return `[[backends]]\nname = "${name}"\naddress = "${address}"\n`;
}

async function timed<T>(fn: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const start = performance.now();
  const value = await fn();
  return { value, ms: performance.now() - start };
}

describe('upstream failures', { timeout: 60_000 }, () => {
  test('a backend on a closed port -> 502 SIBYL_ERR_UPSTREAM_CONNECT', async (t) => {
    const sibyl = await startSibyl(httpToml({ backends: oneBackend('gone', `127.0.0.1:${await closedPort()}`) }));
    t.after(() => sibyl.stop());
    const res = await request(`${sibyl.proxyUrl}/x`, { headers: { 'x-request-id': 'conn-1' } });
    const body = assertSibylError({ status: res.statusCode, headers: res.headers, body: await res.body.text() }, 502, 'SIBYL_ERR_UPSTREAM_CONNECT');
    assert.equal(body.requestId, 'conn-1');
    const metrics = await scrapeMetrics(sibyl.adminUrl);
    assert.equal(sampleValue(metrics, 'sibyl_proxy_upstream_errors_total', { backend: 'gone', error_kind: 'refused' }), 1);
  });

  describe('a backend slower than response_header_timeout ("200ms")', () => {
    let silent: RawBackend;
    let sibyl: SibylProcess;
    before(async () => {
      silent = await startRawBackend('silent', () => undefined); // reads the request, never answers
      sibyl = await startSibyl(httpToml({ proxy: 'response_header_timeout = "200ms"', backends: oneBackend('silent', silent.address) }));
    });
    after(async () => {
      await sibyl?.stop();
      await silent?.close();
    });

    test('-> 504 SIBYL_ERR_UPSTREAM_TIMEOUT', async () => {
      const { value: res, ms } = await timed(() => rawRequest(sibyl.proxyUrl, 'GET /slow HTTP/1.1\r\nHost: app.example\r\n\r\n', { untilResponse: true, timeoutMs: 10_000 }));
      assertSibylError(res, 504, 'SIBYL_ERR_UPSTREAM_TIMEOUT');
      assert.equal(silent.heads.length, 1, 'the backend got the request');
      assert.ok(ms >= 190, `not before the timeout (${Math.round(ms)} ms)`);
      // undici times response headers with ~1 s resolution (see the todo test below)
      assert.ok(ms < 3000, `well before the backend would ever answer (${Math.round(ms)} ms)`);
      const metrics = await scrapeMetrics(sibyl.adminUrl);
      assert.equal(sampleValue(metrics, 'sibyl_proxy_upstream_errors_total', { backend: 'silent', error_kind: 'timeout' }), 1);
    });

    test('-> 504 close to the configured 200 ms', { todo: 'undici fast timers fire response_header_timeout ~0.5-1.5 s late; fix needs the timeout in ProxySettings (src/runtime)' }, async () => {
      const { value: res, ms } = await timed(() => rawRequest(sibyl.proxyUrl, 'GET /slow HTTP/1.1\r\nHost: app.example\r\n\r\n', { untilResponse: true, timeoutMs: 10_000 }));
      assert.equal(res.status, 504);
      assert.ok(ms < 450, `504 after ${Math.round(ms)} ms for a 200 ms timeout`);
    });
  });

  test('a backend that resets the connection -> 502 SIBYL_ERR_UPSTREAM_RESET', async (t) => {
    const resetting = await startRawBackend('reset', (socket) => socket.resetAndDestroy());
    t.after(() => resetting.close());
    const sibyl = await startSibyl(httpToml({ backends: oneBackend('reset', resetting.address) }));
    t.after(() => sibyl.stop());
    const res = await rawRequest(sibyl.proxyUrl, 'GET /r HTTP/1.1\r\nHost: app.example\r\n\r\n', { untilResponse: true });
    assertSibylError(res, 502, 'SIBYL_ERR_UPSTREAM_RESET');
    assert.equal(resetting.heads.length, 1);
    const metrics = await scrapeMetrics(sibyl.adminUrl);
    assert.equal(sampleValue(metrics, 'sibyl_proxy_upstream_errors_total', { backend: 'reset', error_kind: 'reset' }), 1);
  });

  test('a backend that dies mid-body: the client connection is cut, never a short "complete" response', async (t) => {
    const dying = await startRawBackend('dying', (socket) => {
      socket.write('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789');
      setImmediate(() => socket.resetAndDestroy());
    });
    t.after(() => dying.close());
    const sibyl = await startSibyl(httpToml({ backends: oneBackend('dying', dying.address) }));
    t.after(() => sibyl.stop());
    const res = await rawRequest(sibyl.proxyUrl, 'GET /d HTTP/1.1\r\nHost: app.example\r\n\r\n');
    assert.equal(res.status, 200, 'the head was already relayed');
    assert.equal(res.isClosed, true);
    assert.ok(Buffer.byteLength(res.body, 'latin1') < 100, 'fewer bytes than Content-Length: the client can tell it is truncated');
  });
});

describe('client limits', { timeout: 60_000 }, () => {
  let backend: TestBackend;
  let sibyl: SibylProcess;
  before(async () => {
    backend = await startTestBackend('app');
    sibyl = await startSibyl(
      httpToml({
        proxy: 'client_header_timeout = "300ms"\nkeep_alive_timeout = "1s"\nmax_header_bytes = 2048\nmax_url_bytes = 256\nmax_body_bytes = 1024',
        backends: backendsToml([backend]),
      }),
    );
  });
  after(async () => {
    await sibyl?.stop();
    await backend?.close();
  });

  test('a slowloris client (headers trickling in) -> 408 SIBYL_ERR_CLIENT_TIMEOUT soon after client_header_timeout, then closed', async () => {
    const requests = logRequests(backend.server);
    const socket = await openRaw(sibyl.proxyUrl);
    let lines = 0;
    const trickle = setInterval(() => {
      if (socket.writable) socket.write(`X-Slow-${lines++}: 1\r\n`);
    }, 50);
    try {
      const { value: res, ms } = await timed(async () => {
        const reading = readRaw(socket, { timeoutMs: 10_000 });
        socket.write('GET /slowloris HTTP/1.1\r\nHost: app.example\r\n');
        return reading;
      });
      assertSibylError(res, 408, 'SIBYL_ERR_CLIENT_TIMEOUT');
      assert.equal(res.isClosed, true);
      assert.ok(ms >= 290, `not before client_header_timeout (${Math.round(ms)} ms)`);
      assert.ok(ms < 1500, `408 after ${Math.round(ms)} ms for a 300 ms client_header_timeout`);
      assert.ok(lines >= 4, 'the client kept sending header lines all along');
      assert.deepEqual(requests.started, [], 'the backend never saw the request');
    } finally {
      clearInterval(trickle);
      socket.destroy();
    }
  });

  test('an idle keep-alive connection is reused within keep_alive_timeout and closed after it', async () => {
    const socket = await openRaw(sibyl.proxyUrl);
    try {
      let reading = readRaw(socket, { untilResponse: true });
      socket.write('GET /ka1 HTTP/1.1\r\nHost: app.example\r\n\r\n');
      const first = await reading;
      assert.equal(first.status, 200);
      assert.equal(first.headers.connection, 'keep-alive');
      assert.equal(first.headers['keep-alive'], 'timeout=1');

      reading = readRaw(socket, { untilResponse: true });
      socket.write('GET /ka2 HTTP/1.1\r\nHost: app.example\r\n\r\n');
      const second = await reading;
      assert.equal(second.status, 200, 'reused while not idle for long');
      const idleFrom = performance.now();
      const closed = await readRaw(socket, { timeoutMs: 10_000 });
      const idleMs = performance.now() - idleFrom;
      assert.equal(closed.isClosed, true);
      assert.equal(closed.raw, '', 'closed without a response');
      // Node keeps the socket keepAliveTimeoutBuffer (1 s) past the advertised timeout, so clients close first
      assert.ok(idleMs >= 950, `closed after ${Math.round(idleMs)} ms idle, before keep_alive_timeout`);
      assert.ok(idleMs < 3000, `still open ${Math.round(idleMs)} ms after going idle`);
    } finally {
      socket.destroy();
    }
  });

  test('/metrics counts each refusal in sibyl_proxy_limit_rejections_total by limit', async () => {
    const before = await scrapeMetrics(sibyl.adminUrl);
    const count = (text: string, limit: string): number => sampleValue(text, 'sibyl_proxy_limit_rejections_total', { limit });
    const send = (bytes: string): Promise<unknown> => rawRequest(sibyl.proxyUrl, bytes, { untilResponse: true });

    await send(`GET / HTTP/1.1\r\nHost: a\r\nX-Big: ${'h'.repeat(3000)}\r\n\r\n`); // header_size
    await send(`GET /${'u'.repeat(300)} HTTP/1.1\r\nHost: a\r\n\r\n`); // url_length
    await send('POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5000\r\n\r\n'); // body_size (Content-Length)
    await send(`POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n800\r\n${'c'.repeat(0x800)}\r\n0\r\n\r\n`); // body_size (chunked)
    await send('POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n'); // bad_request
    await send('GET / HTTP/1.1\nHost: a\n\n'); // bad_request
    await send('GET http://elsewhere.example/ HTTP/1.1\r\nHost: a\r\n\r\n'); // not_a_proxy
    await send('CONNECT elsewhere.example:443 HTTP/1.1\r\nHost: elsewhere.example:443\r\n\r\n'); // not_a_proxy
    const slow = await openRaw(sibyl.proxyUrl); // client_timeout
    try {
      const reading = readRaw(slow, { timeoutMs: 10_000 });
      slow.write('GET / HTTP/1.1\r\n');
      assert.equal((await reading).status, 408);
    } finally {
      slow.destroy();
    }

    const after = await scrapeMetrics(sibyl.adminUrl);
    const expected: Record<string, number> = { header_size: 1, url_length: 1, body_size: 2, bad_request: 2, not_a_proxy: 2, client_timeout: 1 };
    for (const [limit, n] of Object.entries(expected)) {
      assert.equal(count(after, limit) - count(before, limit), n, `limit="${limit}"`);
    }
  });
});

describe('max_connections = 2', { timeout: 60_000 }, () => {
  let backend: TestBackend;
  let sibyl: SibylProcess;
  before(async () => {
    backend = await startTestBackend('app');
    sibyl = await startSibyl(httpToml({ proxy: 'max_connections = 2', backends: backendsToml([backend]) }));
  });
  after(async () => {
    await sibyl?.stop();
    await backend?.close();
  });

  async function servedOn(socket: Socket, path: string): Promise<number> {
    const reading = readRaw(socket, { untilResponse: true });
    socket.write(`GET ${path} HTTP/1.1\r\nHost: app.example\r\n\r\n`);
    return (await reading).status;
  }

  test('the 3rd concurrent connection is closed without a response and counted; capacity comes back when one closes', async () => {
    const rejectedBefore = sampleValue(await scrapeMetrics(sibyl.adminUrl), 'sibyl_proxy_connections_rejected_total');
    const first = await openRaw(sibyl.proxyUrl);
    const second = await openRaw(sibyl.proxyUrl);
    try {
      assert.equal(await servedOn(first, '/one'), 200);
      assert.equal(await servedOn(second, '/two'), 200);

      // the kernel completes the handshake; Sibyl then closes the socket unread (no 503 is written)
      const third = await rawRequest(sibyl.proxyUrl, 'GET /three HTTP/1.1\r\nHost: app.example\r\n\r\n');
      assert.equal(third.raw, '', 'no response bytes');
      assert.equal(third.isClosed, true);
      assert.ok(third.errorCode === undefined || third.errorCode === 'ECONNRESET', String(third.errorCode));
      assert.ok(!backend.seen.some((s) => s.url === '/three'), 'the refused request never reached the backend');
      const metrics = await scrapeMetrics(sibyl.adminUrl);
      assert.equal(sampleValue(metrics, 'sibyl_proxy_connections_rejected_total') - rejectedBefore, 1);
      assert.equal(sampleValue(metrics, 'sibyl_proxy_open_connections'), 2);

      // the two admitted connections still work
      assert.equal(await servedOn(first, '/one-again'), 200);
      first.destroy();
      const fourth = await until(async () => {
        const res = await rawRequest(sibyl.proxyUrl, 'GET /four HTTP/1.1\r\nHost: app.example\r\nConnection: close\r\n\r\n');
        return res.status === 200 ? res : undefined;
      });
      assert.equal(fourth.status, 200);
    } finally {
      first.destroy();
      second.destroy();
    }
  });
});
