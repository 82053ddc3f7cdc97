// RFC 9110 proxy behaviour through the real binary: hop-by-hop headers, forwarding headers,
// request ids, bodies streamed intact both ways, bodiless responses, Via.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { after, before, beforeEach, describe, test } from 'node:test';
import { Readable } from 'node:stream';
import { request } from 'undici';
import { backendsToml, startTestBackend, type TestBackend } from '../helpers/backends.ts';
import { assertSibylError, httpToml, until } from '../helpers/http-fixture.ts';
import { startRawBackend, type RawBackend } from '../helpers/raw-backend.ts';
import { openRaw, rawRequest, readRaw } from '../helpers/raw-http.ts';
import { eventually, startSibyl, type SibylProcess } from '../helpers/sibyl-process.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const sha256 = (data: Buffer | string): string => createHash('sha256').update(data).digest('hex');

async function listen(server: Server): Promise<string> {
  await new Promise<void>((r) => server.listen({ host: '127.0.0.1', port: 0 }, r));
  return `127.0.0.1:${(server.address() as { port: number }).port}`;
}

async function closeServer(server: Server): Promise<void> {
  await new Promise<void>((r) => {
    server.close(() => r());
    server.closeAllConnections();
  });
}

describe('request headers through the proxy', { timeout: 60_000 }, () => {
  let backend: TestBackend;
  let sibyl: SibylProcess;

  before(async () => {
    backend = await startTestBackend('app');
    sibyl = await startSibyl(httpToml({ backends: backendsToml([backend]) }));
  });
  after(async () => {
    await sibyl?.stop();
    await backend?.close();
  });
  beforeEach(() => {
    backend.seen.length = 0;
  });

  test('hop-by-hop request headers never reach the backend; end-to-end ones do', async () => {
    const res = await rawRequest(
      sibyl.proxyUrl,
      'GET /hop HTTP/1.1\r\nHost: app.example\r\n' +
        'Connection: keep-alive, X-Drop-Me, X-Drop-Too\r\nX-Drop-Me: 1\r\nX-Drop-Too: 2\r\nKeep-Alive: timeout=3\r\n' +
        'Proxy-Authorization: Basic c2VjcmV0\r\nProxy-Connection: keep-alive\r\nTE: trailers\r\nTrailer: X-Checksum\r\nUpgrade: h2c\r\n' +
        'X-End-To-End: kept\r\nAuthorization: Bearer for-the-backend\r\n\r\n',
      { untilResponse: true },
    );
    assert.equal(res.status, 200);
    assert.equal(backend.seen.length, 1);
    const headers = backend.seen[0]?.headers ?? {};
    for (const name of ['x-drop-me', 'x-drop-too', 'keep-alive', 'proxy-authorization', 'proxy-connection', 'te', 'trailer', 'upgrade']) {
      assert.equal(headers[name], undefined, `${name} must not reach the backend`);
    }
    // the backend may see Sibyl's own Connection header, never the client's tokens
    assert.doesNotMatch(String(headers.connection ?? ''), /x-drop/i);
    assert.equal(headers['x-end-to-end'], 'kept');
    assert.equal(headers.authorization, 'Bearer for-the-backend');
    assert.equal(headers.host, 'app.example');
  });

  test('an h2c upgrade request (not a WebSocket) is served as plain HTTP/1.1 without its upgrade headers', async () => {
    // what `curl --http2 http://...` sends; RFC 9110 7.8: a server may ignore Upgrade
    const res = await rawRequest(
      sibyl.proxyUrl,
      'GET /h2c HTTP/1.1\r\nHost: app.example\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n',
      { untilResponse: true },
    );
    assert.equal(res.status, 200, res.raw);
    assert.match(res.body, /app:GET:\/h2c/);
    assert.equal(backend.seen.length, 1);
    const headers = backend.seen[0]?.headers ?? {};
    assert.equal(headers.upgrade, undefined);
    assert.equal(headers['http2-settings'], undefined);
  });

  test('X-Forwarded-For is appended to; X-Forwarded-Proto and X-Forwarded-Host are set, not trusted', async () => {
    await rawRequest(
      sibyl.proxyUrl,
      'GET /xff HTTP/1.1\r\nHost: front.example:8443\r\nX-Forwarded-For: 203.0.113.7\r\nX-Forwarded-For: 198.51.100.2\r\n' +
        'X-Forwarded-Proto: https\r\nX-Forwarded-Host: spoofed.example\r\nConnection: close\r\n\r\n',
    );
    await rawRequest(sibyl.proxyUrl, 'GET /no-xff HTTP/1.1\r\nHost: front.example\r\nConnection: close\r\n\r\n');
    const [withXff, without] = backend.seen;
    assert.equal(withXff?.headers['x-forwarded-for'], '203.0.113.7, 198.51.100.2, 127.0.0.1');
    assert.equal(withXff?.headers['x-forwarded-proto'], 'http');
    assert.equal(withXff?.headers['x-forwarded-host'], 'front.example:8443');
    assert.equal(without?.headers['x-forwarded-for'], '127.0.0.1');
    assert.equal(without?.headers['x-forwarded-proto'], 'http');
    assert.equal(without?.headers['x-forwarded-host'], 'front.example');
  });

  test('X-Request-Id: passed through when given, generated when not, returned on the response', async () => {
    const given = await request(`${sibyl.proxyUrl}/rid`, { headers: { 'x-request-id': 'trace-42.a:b' } });
    await given.body.text();
    assert.equal(given.headers['x-request-id'], 'trace-42.a:b');
    assert.equal(backend.seen[0]?.headers['x-request-id'], 'trace-42.a:b');

    const generated = await request(`${sibyl.proxyUrl}/rid`);
    await generated.body.text();
    const id = String(generated.headers['x-request-id']);
    assert.match(id, UUID);
    assert.equal(backend.seen[1]?.headers['x-request-id'], id, 'the backend and the client see the same id');

    const again = await request(`${sibyl.proxyUrl}/rid`);
    await again.body.text();
    assert.notEqual(again.headers['x-request-id'], id, 'ids are per request');

    // an id that is not a sane token (spaces, too long) is replaced, never echoed
    const unsafe = await request(`${sibyl.proxyUrl}/rid`, { headers: { 'x-request-id': 'a b <script>' } });
    await unsafe.body.text();
    assert.match(String(unsafe.headers['x-request-id']), UUID);
    const tooLong = await request(`${sibyl.proxyUrl}/rid`, { headers: { 'x-request-id': 'x'.repeat(201) } });
    await tooLong.body.text();
    assert.match(String(tooLong.headers['x-request-id']), UUID);
  });

  test('the backend response id header is replaced by the request id', async () => {
    const raw = await startRawBackend('rid', (socket) => socket.write('HTTP/1.1 200 OK\r\nX-Request-Id: backend-made\r\nContent-Length: 0\r\n\r\n'));
    const proxy = await startSibyl(httpToml({ backends: `[[backends]]\nname = "rid"\naddress = "${raw.address}"\n` }));
    try {
      const res = await request(`${proxy.proxyUrl}/`, { headers: { 'x-request-id': 'client-made' } });
      await res.body.text();
      assert.equal(res.headers['x-request-id'], 'client-made');
    } finally {
      await proxy.stop();
      await raw.close();
    }
  });
});

describe('503 when no backend is available, with the request id', { timeout: 60_000 }, () => {
  let a: TestBackend;
  let b: TestBackend;
  let sibyl: SibylProcess;

  before(async () => {
    a = await startTestBackend('a');
    b = await startTestBackend('b');
    sibyl = await startSibyl(
      httpToml({
        backends: backendsToml([a, b]),
        rest: '[health]\nenabled = true\ninterval = "100ms"\ntimeout = "80ms"\njitter = 0\nhealthy_threshold = 1\nunhealthy_threshold = 1\npanic_threshold = 0',
      }),
    );
  });
  after(async () => {
    await sibyl?.stop();
    await a?.close();
    await b?.close();
  });

  async function get(headers: Record<string, string> = {}): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
    const res = await request(`${sibyl.proxyUrl}/x`, { headers });
    return { status: res.statusCode, headers: res.headers, body: await res.body.text() };
  }

  test('all backends drained -> 503 SIBYL_ERR_ROUTE_NO_BACKEND; undrained -> served again', async () => {
    for (const name of ['a', 'b']) assert.equal((await fetch(`${sibyl.adminUrl}/api/backends/${name}/drain`, { method: 'POST' })).status, 200);
    const given = await get({ 'x-request-id': 'drained-1' });
    const body = assertSibylError(given, 503, 'SIBYL_ERR_ROUTE_NO_BACKEND');
    assert.equal(body.requestId, 'drained-1');
    // pacing: Sibyl's own 503 tells clients when to come back, as whole seconds
    assert.match(String(given.headers['retry-after']), /^[1-9]\d?$/);
    const generated = await get();
    assert.match(assertSibylError(generated, 503, 'SIBYL_ERR_ROUTE_NO_BACKEND').requestId, UUID);
    assert.equal(a.seen.length + b.seen.length, 0);

    for (const name of ['a', 'b']) assert.equal((await fetch(`${sibyl.adminUrl}/api/backends/${name}/undrain`, { method: 'POST' })).status, 200);
    assert.equal((await get()).status, 200);
  });

  test('all backends down (failing health checks) -> 503 with the request id', async (t) => {
    a.status = 500;
    b.status = 500;
    t.after(() => {
      a.status = 200;
      b.status = 200;
    });
    const res = await until(async () => {
      const r = await get({ 'x-request-id': 'down-1' });
      return r.status === 503 ? r : undefined;
    });
    const body = assertSibylError(res, 503, 'SIBYL_ERR_ROUTE_NO_BACKEND');
    assert.equal(body.requestId, 'down-1');
    a.status = 200;
    b.status = 200;
    await eventually(async () => (await get()).status === 200);
  });
});

describe('response headers and bodies', { timeout: 60_000 }, () => {
  test('hop-by-hop response headers are stripped, end-to-end ones kept', async (t) => {
    const raw: RawBackend = await startRawBackend('raw', (socket) =>
      socket.write(
        'HTTP/1.1 200 OK\r\nConnection: keep-alive, X-Secret\r\nX-Secret: internal\r\nKeep-Alive: timeout=77, max=9\r\n' +
          'Proxy-Authenticate: Basic realm="upstream"\r\nTrailer: X-Checksum\r\nUpgrade: h2c\r\nProxy-Connection: keep-alive\r\n' +
          'X-Kept: yes\r\nCache-Control: max-age=60\r\nContent-Length: 2\r\n\r\nok',
      ),
    );
    t.after(() => raw.close());
    const sibyl = await startSibyl(httpToml({ backends: `[[backends]]\nname = "raw"\naddress = "${raw.address}"\n` }));
    t.after(() => sibyl.stop());

    const res = await rawRequest(sibyl.proxyUrl, 'GET / HTTP/1.1\r\nHost: app.example\r\n\r\n', { untilResponse: true });
    assert.equal(res.status, 200);
    assert.equal(res.body, 'ok');
    for (const name of ['x-secret', 'proxy-authenticate', 'trailer', 'upgrade', 'proxy-connection']) {
      assert.equal(res.headers[name], undefined, `${name} must not reach the client`);
    }
    // Sibyl's own connection management headers, never the backend's
    assert.doesNotMatch(res.headers.connection ?? '', /x-secret/i);
    assert.doesNotMatch(res.headers['keep-alive'] ?? '', /77|max=9/);
    assert.equal(res.headers['x-kept'], 'yes');
    assert.equal(res.headers['cache-control'], 'max-age=60');
  });

  describe('bodies', () => {
    let echo: Server;
    let sibyl: SibylProcess;
    const received: { sha: string; bytes: number }[] = [];
    let slowBlob: Buffer;
    const stalled = { written: 0, blockedSinceMs: -1 };
    const STALL_TOTAL = 64 << 20;

    before(async () => {
      slowBlob = randomBytes(2 << 20);
      echo = createServer((req, res) => {
        if (req.url === '/echo') {
          // streams the request body back as it arrives, and records what it got
          const hash = createHash('sha256');
          let bytes = 0;
          res.writeHead(200, { 'content-type': 'application/octet-stream' });
          req.on('data', (c: Buffer) => {
            hash.update(c);
            bytes += c.length;
            res.write(c);
          });
          req.on('end', () => {
            received.push({ sha: hash.digest('hex'), bytes });
            res.end();
          });
          return;
        }
        if (req.url === '/slow') {
          // 2 MiB in 32 KiB pieces, one every few ms: a response that trickles for a while
          res.writeHead(200, { 'content-type': 'application/octet-stream' });
          let offset = 0;
          const next = (): void => {
            if (offset >= slowBlob.length) return void res.end();
            res.write(slowBlob.subarray(offset, offset + 32 * 1024));
            offset += 32 * 1024;
            setTimeout(next, 3);
          };
          return next();
        }
        if (req.url === '/stall') {
          // 64 MiB as fast as the path takes it; records when the writer is held back
          res.writeHead(200, { 'content-length': String(STALL_TOTAL) });
          const piece = Buffer.alloc(1 << 20);
          const pump = (): void => {
            stalled.blockedSinceMs = -1;
            while (stalled.written < STALL_TOTAL) {
              piece.fill(stalled.written >> 20);
              stalled.written += piece.length;
              if (!res.write(piece)) {
                stalled.blockedSinceMs = Date.now();
                return void res.once('drain', pump);
              }
            }
            res.end();
          };
          return pump();
        }
        res.writeHead(404);
        res.end();
      });
      const address = await listen(echo);
      sibyl = await startSibyl(httpToml({ backends: `[[backends]]\nname = "echo"\naddress = "${address}"\n` }));
    });
    after(async () => {
      await sibyl?.stop();
      if (echo !== undefined) await closeServer(echo);
    });

    test('a 1 MiB POST body is streamed intact both ways (Content-Length and chunked)', async () => {
      const body = randomBytes(1 << 20);
      const withLength = await request(`${sibyl.proxyUrl}/echo`, { method: 'POST', body });
      const back = Buffer.from(await withLength.body.arrayBuffer());
      assert.equal(withLength.statusCode, 200);
      assert.equal(back.length, body.length);
      assert.equal(sha256(back), sha256(body));
      assert.deepEqual(received.at(-1), { sha: sha256(body), bytes: body.length });

      // no Content-Length: the client streams the body chunked
      const pieces = Array.from({ length: 16 }, (_, i) => body.subarray(i * 65536, (i + 1) * 65536));
      const chunked = await request(`${sibyl.proxyUrl}/echo`, { method: 'POST', body: Readable.from(pieces) });
      const backChunked = Buffer.from(await chunked.body.arrayBuffer());
      assert.equal(chunked.statusCode, 200);
      assert.equal(sha256(backChunked), sha256(body));
      assert.deepEqual(received.at(-1), { sha: sha256(body), bytes: body.length });
    });

    test('a slow-streaming 2 MiB response arrives intact', async () => {
      const res = await request(`${sibyl.proxyUrl}/slow`);
      assert.equal(res.statusCode, 200);
      let pieces = 0;
      const chunks: Buffer[] = [];
      for await (const chunk of res.body) {
        pieces++;
        chunks.push(chunk as Buffer);
      }
      const got = Buffer.concat(chunks);
      assert.equal(got.length, slowBlob.length);
      assert.equal(sha256(got), sha256(slowBlob));
      assert.ok(pieces > 1, 'the response was streamed, not delivered in one piece');
    });

    test('a client that stops reading holds the backend back (backpressure, no whole-body buffering)', async () => {
      const socket = await openRaw(sibyl.proxyUrl);
      try {
        socket.pause();
        socket.write('GET /stall HTTP/1.1\r\nHost: app.example\r\nConnection: close\r\n\r\n');
        // the backend is stuck on a full pipe for a while: nothing downstream takes more
        await eventually(() => stalled.blockedSinceMs > 0 && Date.now() - stalled.blockedSinceMs > 300);
        assert.ok(stalled.written < STALL_TOTAL / 2, `backend got ${stalled.written >> 20} MiB out while the client read nothing`);

        const hash = createHash('sha256');
        let head = '';
        let bodyBytes = 0;
        const done = new Promise<void>((resolve) => socket.once('end', resolve));
        socket.on('data', (chunk: Buffer) => {
          if (head === '' || !head.includes('\r\n\r\n')) {
            const text = head + chunk.toString('latin1');
            const end = text.indexOf('\r\n\r\n');
            if (end === -1) return void (head = text);
            head = text.slice(0, end + 4);
            const rest = Buffer.from(text.slice(end + 4), 'latin1');
            hash.update(rest);
            bodyBytes += rest.length;
            return;
          }
          hash.update(chunk);
          bodyBytes += chunk.length;
        });
        socket.resume();
        await done;
        assert.match(head, /^HTTP\/1\.1 200/);
        assert.equal(bodyBytes, STALL_TOTAL);
        const expected = createHash('sha256');
        for (let i = 0; i < STALL_TOTAL >> 20; i++) expected.update(Buffer.alloc(1 << 20, i));
        assert.equal(hash.digest('hex'), expected.digest('hex'));
      } finally {
        socket.destroy();
      }
    });
  });

  describe('bodiless responses keep the connection in frame', () => {
    let backend: TestBackend;
    let sibyl: SibylProcess;

    before(async () => {
      backend = await startTestBackend('app', (req, res) => {
        if (req.url === '/204') return void res.writeHead(204, { 'x-kind': 'no-content' }).end();
        if (req.url === '/304') return void res.writeHead(304, { etag: '"v1"' }).end();
        res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '11', etag: '"v1"' });
        res.end(req.method === 'HEAD' ? undefined : 'hello world');
      });
      sibyl = await startSibyl(httpToml({ backends: backendsToml([backend]) }));
    });
    after(async () => {
      await sibyl?.stop();
      await backend?.close();
    });

    for (const [name, head, status, isHead] of [
      ['HEAD', 'HEAD /doc HTTP/1.1', 200, true],
      ['204 No Content', 'GET /204 HTTP/1.1', 204, false],
      ['304 Not Modified', 'GET /304 HTTP/1.1\r\nIf-None-Match: "v1"', 304, false],
    ] as const) {
      test(`${name}: no body bytes, and the next request on the connection is answered correctly`, async () => {
        const socket = await openRaw(sibyl.proxyUrl);
        try {
          let reading = readRaw(socket, { untilResponse: true, isHead });
          socket.write(`${head}\r\nHost: app.example\r\n\r\n`);
          const first = await reading;
          assert.equal(first.status, status);
          assert.equal(first.body, '', 'no body bytes after a bodiless response');
          assert.equal(first.headers['transfer-encoding'], undefined);
          if (isHead) assert.equal(first.headers['content-length'], '11', 'HEAD keeps the GET Content-Length');
          if (status === 204) assert.equal(first.headers['x-kind'], 'no-content');
          if (status === 304) assert.equal(first.headers.etag, '"v1"');

          reading = readRaw(socket, { untilResponse: true });
          socket.write('GET /doc HTTP/1.1\r\nHost: app.example\r\n\r\n');
          const second = await reading;
          assert.equal(second.status, 200);
          assert.equal(second.body, 'hello world');
        } finally {
          socket.destroy();
        }
      });
    }
  });
});

describe('Via', { timeout: 60_000 }, () => {
  test('add_via_header = true appends "1.1 sibyl" to Via both ways', async (t) => {
    const raw = await startRawBackend('via', (socket) => socket.write('HTTP/1.1 200 OK\r\nVia: 1.1 origin-cache\r\nContent-Length: 0\r\n\r\n'));
    t.after(() => raw.close());
    const sibyl = await startSibyl(httpToml({ proxy: 'add_via_header = true', backends: `[[backends]]\nname = "via"\naddress = "${raw.address}"\n` }));
    t.after(() => sibyl.stop());
    const res = await rawRequest(sibyl.proxyUrl, 'GET / HTTP/1.1\r\nHost: app.example\r\nVia: 1.0 corporate-proxy\r\n\r\n', { untilResponse: true });
    assert.equal(res.status, 200);
    assert.equal(res.headers.via, '1.1 origin-cache, 1.1 sibyl');
    assert.match(raw.heads[0] ?? '', /\r\nvia: 1\.0 corporate-proxy, 1\.1 sibyl(\r\n|$)/i);
  });

  test('without add_via_header, Via passes through unchanged', async (t) => {
    const raw = await startRawBackend('via', (socket) => socket.write('HTTP/1.1 200 OK\r\nVia: 1.1 origin-cache\r\nContent-Length: 0\r\n\r\n'));
    t.after(() => raw.close());
    const sibyl = await startSibyl(httpToml({ backends: `[[backends]]\nname = "via"\naddress = "${raw.address}"\n` }));
    t.after(() => sibyl.stop());
    const res = await rawRequest(sibyl.proxyUrl, 'GET / HTTP/1.1\r\nHost: app.example\r\nVia: 1.0 corporate-proxy\r\n\r\n', { untilResponse: true });
    assert.equal(res.headers.via, '1.1 origin-cache');
    assert.match(raw.heads[0] ?? '', /\r\nvia: 1\.0 corporate-proxy(\r\n|$)/i);
    assert.doesNotMatch(raw.heads[0] ?? '', /sibyl/i);
  });
});
