// Malformed and oversized requests, sent as exact bytes on raw sockets: each gets its status and
// Sibyl's JSON error, and the backend sees nothing (no request smuggled behind a bad one either).
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { backendsToml, startTestBackend, type TestBackend } from '../helpers/backends.ts';
import { assertSibylError, httpToml, logRequests, type RequestLog } from '../helpers/http-fixture.ts';
import { openRaw, rawRequest, readRaw } from '../helpers/raw-http.ts';
import { eventually, startSibyl, type SibylProcess } from '../helpers/sibyl-process.ts';

const MAX_HEADER_BYTES = 4096;
const MAX_URL_BYTES = 512;
const MAX_BODY_BYTES = 1024;
/** Appended after a malformed request: if framing were misread, the backend would get this one. */
const SMUGGLED = 'GET /smuggled HTTP/1.1\r\nHost: app.example\r\n\r\n';

describe('malformed requests', { timeout: 60_000 }, () => {
  let backend: TestBackend;
  let requests: RequestLog;
  let sibyl: SibylProcess;

  before(async () => {
    backend = await startTestBackend('app');
    requests = logRequests(backend.server);
    sibyl = await startSibyl(
      httpToml({
        proxy: `max_header_bytes = ${MAX_HEADER_BYTES}\nmax_url_bytes = ${MAX_URL_BYTES}\nmax_body_bytes = ${MAX_BODY_BYTES}`,
        backends: backendsToml([backend]),
      }),
    );
  });
  after(async () => {
    await sibyl?.stop();
    await backend?.close();
  });
  beforeEach(() => {
    backend.seen.length = 0;
    requests.started.length = 0;
    requests.aborted.length = 0;
  });

  function assertBackendSawNothing(): void {
    assert.deepEqual(requests.started, [], 'the backend started no request');
    assert.deepEqual(backend.seen, []);
  }

  /**
   * For an error inside a body: the head was already streamed to the backend (bodies are never
   * buffered), so the backend may have started the request, but it must never complete it, and
   * nothing behind the bad request may reach it.
   */
  async function assertBackendGotNoCompleteRequest(): Promise<void> {
    // a request on a fresh connection, answered after the bad one was refused
    const barrier = await rawRequest(sibyl.proxyUrl, 'GET /barrier HTTP/1.1\r\nHost: app.example\r\nConnection: close\r\n\r\n');
    assert.equal(barrier.status, 200);
    const others = (): string[] => requests.started.map((r) => r.url).filter((u) => u !== '/barrier');
    await eventually(() => requests.aborted.length === others().length);
    assert.ok(others().every((u) => u === '/'), `only the bad request itself may have started: ${others().join(', ')}`);
    assert.deepEqual(backend.seen.map((s) => s.url), ['/barrier'], 'no complete request but the barrier, nothing smuggled');
  }

  // rejected while parsing the head: no request exists yet
  const badHead: [string, string][] = [
    ['Content-Length together with Transfer-Encoding: chunked', 'POST / HTTP/1.1\r\nHost: app.example\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n'],
    ['two differing Content-Length headers', 'POST / HTTP/1.1\r\nHost: app.example\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!'],
    ['a Content-Length list with differing values', 'POST / HTTP/1.1\r\nHost: app.example\r\nContent-Length: 5, 6\r\n\r\nhello!'],
    ['Transfer-Encoding whose last coding is not chunked', 'POST / HTTP/1.1\r\nHost: app.example\r\nTransfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n'],
    ['obsolete line folding', 'GET / HTTP/1.1\r\nHost: app.example\r\nX-A: 1\r\n  folded\r\n\r\n'],
    ['whitespace before a header colon', 'GET / HTTP/1.1\r\nHost: app.example\r\nX-A : 1\r\n\r\n'],
    // Node 24's parser (llhttp, strict) rejects a bare LF in every position of the head
    ['a bare LF everywhere', 'GET / HTTP/1.1\nHost: app.example\n\n'],
    ['a bare LF ending the request line', 'GET / HTTP/1.1\nHost: app.example\r\n\r\n'],
    ['a bare LF ending a header line', 'GET / HTTP/1.1\r\nHost: app.example\nX-A: 1\r\n\r\n'],
    ['a bare LF ending the header block', 'GET / HTTP/1.1\r\nHost: app.example\r\n\n'],
    ['a bare CR as line ending', 'GET / HTTP/1.1\rHost: app.example\r\r'],
  ];
  for (const [name, bytes] of badHead) {
    test(`${name} -> 400, connection closed, backend sees nothing`, async () => {
      const res = await rawRequest(sibyl.proxyUrl, bytes + SMUGGLED);
      assertSibylError(res, 400, 'SIBYL_ERR_CLIENT_BAD_REQUEST');
      assert.equal(res.isClosed, true, 'Sibyl closes a connection whose framing it cannot trust');
      assertBackendSawNothing();
    });
  }

  // rejected while parsing a chunked body: the head may already be on its way to the backend
  const badBody: [string, string][] = [
    ['an invalid chunk size', 'POST / HTTP/1.1\r\nHost: app.example\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n'],
    ['a chunk size that overflows', 'POST / HTTP/1.1\r\nHost: app.example\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\nhello\r\n0\r\n\r\n'],
    // Node 24's parser rejects a bare LF in every framing position of a chunked body too
    ['a bare LF ending a chunk-size line', 'POST / HTTP/1.1\r\nHost: app.example\r\nTransfer-Encoding: chunked\r\n\r\n5\nhello\r\n0\r\n\r\n'],
    ['a bare LF ending a chunk-size line with an extension', 'POST / HTTP/1.1\r\nHost: app.example\r\nTransfer-Encoding: chunked\r\n\r\n5;a=b\nhello\r\n0\r\n\r\n'],
    ['a bare LF ending chunk data', 'POST / HTTP/1.1\r\nHost: app.example\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\n0\r\n\r\n'],
    ['a bare LF ending the last chunk', 'POST / HTTP/1.1\r\nHost: app.example\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\n\r\n'],
    ['a bare LF ending the trailer section', 'POST / HTTP/1.1\r\nHost: app.example\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\n'],
  ];
  for (const [name, bytes] of badBody) {
    test(`${name} -> 400, connection closed, backend gets no complete request`, async () => {
      const res = await rawRequest(sibyl.proxyUrl, bytes + SMUGGLED);
      assertSibylError(res, 400, 'SIBYL_ERR_CLIENT_BAD_REQUEST');
      assert.equal(res.isClosed, true);
      await assertBackendGotNoCompleteRequest();
    });
  }

  test('a bare LF inside a Content-Length body is data: forwarded byte for byte', async () => {
    const res = await rawRequest(sibyl.proxyUrl, 'POST /lf HTTP/1.1\r\nHost: app.example\r\nContent-Length: 6\r\nConnection: close\r\n\r\nhel\nlo');
    assert.equal(res.status, 200);
    assert.deepEqual(backend.seen.map((s) => [s.url, s.body]), [['/lf', 'hel\nlo']]);
  });

  test(`a header block over max_header_bytes (${MAX_HEADER_BYTES}) -> 431`, async () => {
    const res = await rawRequest(sibyl.proxyUrl, `GET / HTTP/1.1\r\nHost: app.example\r\nX-Big: ${'a'.repeat(MAX_HEADER_BYTES)}\r\n\r\n`);
    assertSibylError(res, 431, 'SIBYL_ERR_CLIENT_HEADERS_TOO_LARGE');
    assert.equal(res.isClosed, true);
    assertBackendSawNothing();
  });

  test(`a URL over max_url_bytes (${MAX_URL_BYTES}) -> 414; one of exactly max_url_bytes is served`, async () => {
    const tooLong = `/${'u'.repeat(MAX_URL_BYTES)}`;
    const res = await rawRequest(sibyl.proxyUrl, `GET ${tooLong} HTTP/1.1\r\nHost: app.example\r\n\r\n`, { untilResponse: true });
    assertSibylError(res, 414, 'SIBYL_ERR_CLIENT_URL_TOO_LONG');
    assertBackendSawNothing();

    const fits = `/${'u'.repeat(MAX_URL_BYTES - 1)}`;
    const ok = await rawRequest(sibyl.proxyUrl, `GET ${fits} HTTP/1.1\r\nHost: app.example\r\nConnection: close\r\n\r\n`);
    assert.equal(ok.status, 200);
    assert.deepEqual(backend.seen.map((s) => s.url), [fits]);
  });

  test(`Content-Length over max_body_bytes (${MAX_BODY_BYTES}) -> 413 before the body is read; exactly the limit is served`, async () => {
    // only the head is sent: the answer must not wait for a body Sibyl will not read
    const res = await rawRequest(sibyl.proxyUrl, `POST /up HTTP/1.1\r\nHost: app.example\r\nContent-Length: ${MAX_BODY_BYTES + 1}\r\n\r\n`);
    assertSibylError(res, 413, 'SIBYL_ERR_CLIENT_BODY_TOO_LARGE');
    assert.equal(res.headers.connection, 'close');
    assert.equal(res.isClosed, true, 'the unread body is not left on a kept-alive connection');
    assertBackendSawNothing();

    const body = 'b'.repeat(MAX_BODY_BYTES);
    const ok = await rawRequest(sibyl.proxyUrl, `POST /up HTTP/1.1\r\nHost: app.example\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`);
    assert.equal(ok.status, 200);
    assert.deepEqual(backend.seen.map((s) => s.body.length), [MAX_BODY_BYTES]);
  });

  test('a chunked body exceeding max_body_bytes -> 413 with Connection: close, the backend request is aborted', async () => {
    const socket = await openRaw(sibyl.proxyUrl);
    try {
      const chunk = `200\r\n${'c'.repeat(0x200)}\r\n`;
      const reading = readRaw(socket);
      socket.write(`POST /chunked HTTP/1.1\r\nHost: app.example\r\nTransfer-Encoding: chunked\r\n\r\n${chunk}`);
      // the body streams: the backend sees the request start before the limit is crossed
      await eventually(() => requests.started.length === 1);
      socket.write(chunk + chunk); // 1536 bytes > 1024; the client is still sending (no last chunk)
      const res = await reading;
      assertSibylError(res, 413, 'SIBYL_ERR_CLIENT_BODY_TOO_LARGE');
      assert.equal(res.headers.connection, 'close', 'the rest of the body is not read: the connection cannot be reused');
      assert.equal(res.isClosed, true, 'Sibyl closes the connection after the 413');
      await eventually(() => requests.aborted.length === 1);
      assert.deepEqual(requests.aborted, ['/chunked'], 'the backend never got a complete over-limit body');
      assert.deepEqual(backend.seen, []);
    } finally {
      socket.destroy();
    }
  });

  test('a chunked body of exactly max_body_bytes is forwarded whole', async () => {
    const body = 'k'.repeat(MAX_BODY_BYTES);
    const half = (MAX_BODY_BYTES / 2).toString(16);
    const res = await rawRequest(
      sibyl.proxyUrl,
      `POST /chunked-ok HTTP/1.1\r\nHost: app.example\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n${half}\r\n${body.slice(0, MAX_BODY_BYTES / 2)}\r\n${half}\r\n${body.slice(MAX_BODY_BYTES / 2)}\r\n0\r\n\r\n`,
    );
    assert.equal(res.status, 200);
    assert.deepEqual(backend.seen.map((s) => [s.url, s.body]), [['/chunked-ok', body]]);
  });

  test('absolute-form for another host than Host -> 400 SIBYL_ERR_CLIENT_NOT_A_PROXY', async () => {
    const res = await rawRequest(sibyl.proxyUrl, 'GET http://evil.example/ HTTP/1.1\r\nHost: other\r\n\r\n', { untilResponse: true });
    assertSibylError(res, 400, 'SIBYL_ERR_CLIENT_NOT_A_PROXY');
    const noHost = await rawRequest(sibyl.proxyUrl, 'GET http://evil.example/ HTTP/1.0\r\n\r\n', { untilResponse: true });
    assertSibylError(noHost, 400, 'SIBYL_ERR_CLIENT_NOT_A_PROXY');
    assertBackendSawNothing();
  });

  test('absolute-form for the host named in Host is served in origin-form', async () => {
    const res = await rawRequest(sibyl.proxyUrl, 'GET http://App.Example/p?q=1 HTTP/1.1\r\nHost: app.example\r\nConnection: close\r\n\r\n');
    assert.equal(res.status, 200);
    assert.equal(backend.seen.length, 1);
    assert.equal(backend.seen[0]?.url, '/p?q=1');
    assert.equal(backend.seen[0]?.headers.host, 'app.example');
  });

  test('CONNECT -> 400 SIBYL_ERR_CLIENT_NOT_A_PROXY, no tunnel', async () => {
    const res = await rawRequest(sibyl.proxyUrl, `CONNECT ${backend.address} HTTP/1.1\r\nHost: ${backend.address}\r\n\r\nGET /tunnelled HTTP/1.1\r\nHost: x\r\n\r\n`);
    assertSibylError(res, 400, 'SIBYL_ERR_CLIENT_NOT_A_PROXY');
    assert.equal(res.isClosed, true);
    assert.doesNotMatch(res.raw, /HTTP\/1\.1 200/);
    assertBackendSawNothing();
  });

  // RFC 9112 3.2: exactly one valid Host on HTTP/1.1. nginx answers each of these 400 as well, except
  // the last two (it serves them, taking "a" from "a:b:c"); Sibyl is stricter there.
  const badHost: [string, string][] = [
    ['HTTP/1.1 without Host', 'GET / HTTP/1.1\r\n\r\n'],
    ['HTTP/1.1 absolute-form without Host', 'GET http://app.example/ HTTP/1.1\r\n\r\n'],
    ['an empty Host', 'GET / HTTP/1.1\r\nHost:\r\n\r\n'],
    ['two differing Host headers', 'GET / HTTP/1.1\r\nHost: app.example\r\nHost: evil.example\r\n\r\n'],
    ['two equal Host headers', 'GET / HTTP/1.1\r\nHost: app.example\r\nHost: app.example\r\n\r\n'],
    ['HTTP/1.0 with two Host headers', 'GET / HTTP/1.0\r\nHost: app.example\r\nHost: evil.example\r\n\r\n'],
    ['a space in Host', 'GET / HTTP/1.1\r\nHost: app example\r\n\r\n'],
    ['a slash in Host', 'GET / HTTP/1.1\r\nHost: app.example/x\r\n\r\n'],
    ['".." in Host', 'GET / HTTP/1.1\r\nHost: app..example\r\n\r\n'],
    ['a Host with two colons', 'GET / HTTP/1.1\r\nHost: app:example:80\r\n\r\n'],
    ['a backslash in Host', 'GET / HTTP/1.1\r\nHost: app\\example\r\n\r\n'],
  ];
  for (const [name, bytes] of badHost) {
    test(`${name} -> 400 SIBYL_ERR_CLIENT_BAD_HOST, backend sees nothing`, async () => {
      const res = await rawRequest(sibyl.proxyUrl, bytes, { untilResponse: true });
      assertSibylError(res, 400, 'SIBYL_ERR_CLIENT_BAD_HOST');
      assertBackendSawNothing();
    });
  }

  test('HTTP/1.0 without Host is served (Host is optional before 1.1); an IPv6 literal Host with a port is valid', async () => {
    const old = await rawRequest(sibyl.proxyUrl, 'GET /old HTTP/1.0\r\n\r\n');
    assert.equal(old.status, 200);
    const v6 = await rawRequest(sibyl.proxyUrl, 'GET /v6 HTTP/1.1\r\nHost: [::1]:8080\r\nConnection: close\r\n\r\n');
    assert.equal(v6.status, 200);
    assert.deepEqual(backend.seen.map((s) => [s.url, s.headers.host]), [['/old', backend.address], ['/v6', '[::1]:8080']]);
  });

  test('a parse error answers with a fresh request id (the client one was never parsed)', async () => {
    const a = await rawRequest(sibyl.proxyUrl, 'GET / HTTP/1.1\nX-Request-Id: mine\n\n');
    const b = await rawRequest(sibyl.proxyUrl, 'GET / HTTP/1.1\nX-Request-Id: mine\n\n');
    const idA = assertSibylError(a, 400, 'SIBYL_ERR_CLIENT_BAD_REQUEST').requestId;
    const idB = assertSibylError(b, 400, 'SIBYL_ERR_CLIENT_BAD_REQUEST').requestId;
    assert.notEqual(idA, idB, 'each error has its own id');
  });
});
