// HTTP/2 to clients with the real `sibyl` binary: h2 over TLS (ALPN) and cleartext h2c with
// prior knowledge go through the same pipeline as HTTP/1.1 (strategies, telemetry, metrics),
// request bodies stream without Content-Length, and the abuse bounds hold: rapid reset ends the
// connection with GOAWAY, an oversized header list gets 431.
import assert from 'node:assert/strict';
import { connect, constants, type ClientHttp2Session, type IncomingHttpHeaders } from 'node:http2';
import { test, type TestContext } from 'node:test';
import { backendsToml, startTestBackend, type TestBackend } from '../helpers/backends.ts';
import { createTestCa, issueCertificate, OPENSSL, type TestCa } from '../helpers/certificates.ts';
import { metricValue, testConfig } from '../helpers/sibyl-control.ts';
import { eventually, startSibyl, type SibylProcess } from '../helpers/sibyl-process.ts';
import { skipUnlessTool } from '../helpers/requires-tool.ts';

const skip = skipUnlessTool('openssl', OPENSSL);

async function backends(t: TestContext, names: string[], slowMs = 0): Promise<TestBackend[]> {
  const started = await Promise.all(
    names.map((n) =>
      startTestBackend(n, (req, res, body) => {
        const answer = (): void => {
          res.writeHead(200, { 'content-type': 'text/plain', 'x-served-by': n, connection: 'keep-alive' });
          res.end(`${n}:${req.method}:${req.url}:${body.length}`);
        };
        if (req.url?.startsWith('/slow') === true) setTimeout(answer, slowMs);
        else answer();
      }),
    ),
  );
  t.after(() => Promise.all(started.map((b) => b.close())));
  return started;
}

async function serveTls(t: TestContext, ca: TestCa, sections: string): Promise<{ sibyl: SibylProcess; port: number }> {
  const cert = await issueCertificate(ca, 'server', ['localhost']);
  const sibyl = await startSibyl(testConfig(`[health]\nenabled = false\n[tls]\nenabled = true\ncert_file = "${cert.certFile}"\nkey_file = "${cert.keyFile}"\n${sections}`));
  t.after(() => sibyl.stop());
  return { sibyl, port: Number(new URL(sibyl.proxyUrl).port) };
}

function h2(t: TestContext, url: string, ca?: TestCa): ClientHttp2Session {
  const session = connect(url, ca === undefined ? {} : { ca: ca.certPem, servername: 'localhost' });
  session.on('error', () => undefined);
  t.after(() => session.destroy());
  return session;
}

function exchange(session: ClientHttp2Session, headers: Record<string, string>, body?: string[]): Promise<{ headers: IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const stream = session.request(headers, { endStream: body === undefined });
    const chunks: Buffer[] = [];
    let responseHeaders: IncomingHttpHeaders = {};
    stream.on('response', (h) => (responseHeaders = h));
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => resolve({ headers: responseHeaders, body: Buffer.concat(chunks).toString() }));
    stream.on('error', reject);
    // a body written in pieces, without Content-Length: framed by DATA frames only
    if (body !== undefined) {
      for (const piece of body) stream.write(piece);
      stream.end();
    }
  });
}

test('h2 over TLS goes through the same pipeline: strategies, bodies, telemetry and metrics', { skip }, async (t) => {
  const ca = await createTestCa();
  const [a, b] = (await backends(t, ['a', 'b'])) as [TestBackend, TestBackend];
  const { sibyl, port } = await serveTls(t, ca, backendsToml([a, b]));
  const session = h2(t, `https://localhost:${port}`, ca);

  // twenty concurrent streams on one connection, spread round-robin
  const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => exchange(session, { ':path': `/s${i}`, 'x-client-id': 'c1' })));
  for (const answer of answers) assert.equal(answer.headers[':status'], 200);
  assert.equal(a.seen.length, 10);
  assert.equal(b.seen.length, 10);
  const seen = a.seen[0];
  assert.equal(seen?.headers.host, `localhost:${port}`);
  assert.equal(seen?.headers['x-forwarded-proto'], 'https');
  assert.ok(Object.keys(seen?.headers ?? {}).every((name) => !name.startsWith(':')), 'no pseudo-header reaches an HTTP/1.1 backend');
  assert.ok(answers[0]?.headers['x-request-id'] !== undefined);
  assert.equal(answers[0]?.headers.connection, undefined, 'connection headers never go out on h2');

  const posted = await exchange(session, { ':method': 'POST', ':path': '/upload' }, ['x'.repeat(40_000), 'y'.repeat(30_000)]);
  assert.match(posted.body, /^[ab]:POST:\/upload:70000$/);

  // telemetry sees h2 requests as it sees HTTP/1.1 ones: the same request again after a success is a repeat
  await exchange(session, { ':path': '/again', 'x-client-id': 'c2' });
  await exchange(session, { ':path': '/again', 'x-client-id': 'c2' });
  assert.ok(((await metricValue(sibyl.adminUrl, 'sibyl_telemetry_repeats_total')) ?? 0) >= 1);
  assert.equal(await metricValue(sibyl.adminUrl, 'sibyl_proxy_protocol_requests_total', { protocol: 'h2' }), 23);
  assert.equal(((await metricValue(sibyl.adminUrl, 'sibyl_proxy_requests_total', { backend: 'a', status_class: '2xx' })) ?? 0) + ((await metricValue(sibyl.adminUrl, 'sibyl_proxy_requests_total', { backend: 'b', status_class: '2xx' })) ?? 0), 23);
  assert.equal(await metricValue(sibyl.adminUrl, 'sibyl_proxy_http2_open_sessions'), 1);
  assert.ok(((await metricValue(sibyl.adminUrl, 'sibyl_tls_handshakes_total', { alpn: 'h2' })) ?? 0) >= 1);
});

test('h2c with prior knowledge and HTTP/1.1 share one cleartext port when allow_h2c is on', async (t) => {
  const [a] = (await backends(t, ['a'])) as [TestBackend];
  const sibyl = await startSibyl(testConfig(`[health]\nenabled = false\n[http2]\nallow_h2c = true\n${backendsToml([a])}`));
  t.after(() => sibyl.stop());
  const session = h2(t, sibyl.proxyUrl);
  const answer = await exchange(session, { ':method': 'POST', ':path': '/clear' }, ['hello']);
  assert.equal(answer.headers[':status'], 200);
  assert.equal(answer.body, 'a:POST:/clear:5');
  assert.equal(a.seen[0]?.headers['x-forwarded-for'], '127.0.0.1', 'the client address survives the protocol sniffing');
  const h1 = await fetch(`${sibyl.proxyUrl}/plain`);
  assert.equal(await h1.text(), 'a:GET:/plain:0');
  assert.equal(await metricValue(sibyl.adminUrl, 'sibyl_proxy_protocol_requests_total', { protocol: 'h2c' }), 1);
  assert.equal(await metricValue(sibyl.adminUrl, 'sibyl_proxy_protocol_requests_total', { protocol: 'http1' }), 1);
});

test('with allow_h2c, a connection that never shows its protocol is cut after client_header_timeout', { timeout: 20_000 }, async (t) => {
  const [a] = (await backends(t, ['a'])) as [TestBackend];
  const sibyl = await startSibyl(testConfig(`[health]\nenabled = false\n[http2]\nallow_h2c = true\n${backendsToml([a])}`, { proxy: 'client_header_timeout = "300ms"\nclient_request_timeout = "1s"' }));
  t.after(() => sibyl.stop());
  const { connect: connectTcp } = await import('node:net');
  for (const first of ['', 'PRI * HT']) {
    const socket = connectTcp({ host: '127.0.0.1', port: Number(new URL(sibyl.proxyUrl).port) });
    t.after(() => socket.destroy());
    if (first !== '') socket.write(first);
    const startedMs = Date.now();
    await new Promise<void>((resolve) => socket.once('close', () => resolve()));
    assert.ok(Date.now() - startedMs < 5000, `${JSON.stringify(first)}: closed after ${Date.now() - startedMs} ms`);
  }
});

test('rapid reset: a client cancelling streams beyond the limit gets GOAWAY and is cut off', { skip }, async (t) => {
  const ca = await createTestCa();
  const [a] = (await backends(t, ['a'], 2000)) as [TestBackend];
  const { sibyl, port } = await serveTls(t, ca, `[http2]\nmax_resets_per_interval = 10\nreset_interval = "30s"\n${backendsToml([a])}`);
  const session = h2(t, `https://localhost:${port}`, ca);
  const goaway = new Promise<number>((resolve) => session.once('goaway', (code: number) => resolve(code)));
  await exchange(session, { ':path': '/warm' });
  for (let i = 0; i < 30 && !session.closed && !session.destroyed; i++) {
    const stream = session.request({ ':path': `/slow${i}` });
    stream.on('error', () => undefined);
    // wait until Sibyl started the stream, then cancel it, as the attack does
    await new Promise((r) => setTimeout(r, 5));
    stream.close(constants.NGHTTP2_CANCEL);
    await new Promise((r) => setTimeout(r, 5));
  }
  assert.equal(await goaway, constants.NGHTTP2_ENHANCE_YOUR_CALM);
  await eventually(async () => (await metricValue(sibyl.adminUrl, 'sibyl_proxy_http2_abuse_total', { kind: 'rapid_reset' })) === 1, 5000);
  // other clients are unaffected
  const other = h2(t, `https://localhost:${port}`, ca);
  assert.equal((await exchange(other, { ':path': '/fine' })).headers[':status'], 200);
});

test('a header list above max_header_list_bytes gets 431 and is counted', { skip }, async (t) => {
  const ca = await createTestCa();
  const [a] = (await backends(t, ['a'])) as [TestBackend];
  const { sibyl, port } = await serveTls(t, ca, `[http2]\nmax_header_list_bytes = 4096\n${backendsToml([a])}`);
  const session = h2(t, `https://localhost:${port}`, ca);
  const big = await exchange(session, { ':path': '/big', 'x-big': 'a'.repeat(6000) });
  assert.equal(big.headers[':status'], 431);
  assert.match(big.body, /SIBYL_ERR_CLIENT_HEADERS_TOO_LARGE/);
  assert.equal(a.seen.length, 0);
  assert.equal(await metricValue(sibyl.adminUrl, 'sibyl_proxy_http2_abuse_total', { kind: 'header_list_too_large' }), 1);
  assert.equal((await exchange(session, { ':path': '/small' })).headers[':status'], 200, 'the connection stays usable');
  // above twice the limit nghttp2 resets the stream itself; the gap it leaves is counted
  await assert.rejects(exchange(session, { ':path': '/huge', 'x-big': 'a'.repeat(12_000) }));
  assert.equal((await exchange(session, { ':path': '/after' })).headers[':status'], 200);
  assert.equal(await metricValue(sibyl.adminUrl, 'sibyl_proxy_http2_abuse_total', { kind: 'refused' }), 1);
});

test('SIGTERM drains h2 connections: a stream in flight finishes, then the session gets GOAWAY', { skip }, async (t) => {
  const ca = await createTestCa();
  const [a] = (await backends(t, ['a'], 600)) as [TestBackend];
  const { sibyl, port } = await serveTls(t, ca, backendsToml([a]));
  const session = h2(t, `https://localhost:${port}`, ca);
  await exchange(session, { ':path': '/warm' });
  const inFlight = exchange(session, { ':path': '/slow-drain' });
  await eventually(() => a.seen.some((s) => s.url === '/slow-drain'), 5000);
  const goaway = new Promise<void>((resolve) => session.once('goaway', () => resolve()));
  const exited = sibyl.stop('SIGTERM');
  const answer = await inFlight;
  assert.equal(answer.headers[':status'], 200);
  assert.equal(answer.body, 'a:GET:/slow-drain:0');
  await goaway;
  assert.equal(await exited, 0);
});

test('Sibyl\'s own retries work for h2 clients: a 503 held back is replaced by another backend\'s answer', { skip }, async (t) => {
  const ca = await createTestCa();
  const failing = await startTestBackend('failing', (_req, res) => {
    res.writeHead(503, { 'content-type': 'text/plain' });
    res.end('unavailable');
  });
  t.after(() => failing.close());
  const [ok] = (await backends(t, ['ok'])) as [TestBackend];
  const { sibyl, port } = await serveTls(t, ca, `[outlier_detection]\nenabled = false\n${backendsToml([failing, ok])}`);
  const session = h2(t, `https://localhost:${port}`, ca);
  for (let i = 0; i < 4; i++) {
    const answer = await exchange(session, { ':path': `/retry${i}` });
    assert.equal(answer.headers[':status'], 200);
    assert.equal(answer.body, `ok:GET:/retry${i}:0`);
  }
  assert.ok(failing.seen.length >= 1, 'round_robin sent some first attempts to the failing backend');
  assert.equal(await metricValue(sibyl.adminUrl, 'sibyl_retry_decisions_total', { decision: 'retried' }), failing.seen.length);
});

test('an idle h2 connection gets GOAWAY after [http2] idle_timeout', { skip }, async (t) => {
  const ca = await createTestCa();
  const [a] = (await backends(t, ['a'])) as [TestBackend];
  const { port } = await serveTls(t, ca, `[http2]\nidle_timeout = "300ms"\n${backendsToml([a])}`);
  const session = h2(t, `https://localhost:${port}`, ca);
  const goaway = new Promise<void>((resolve) => session.once('goaway', () => resolve()));
  assert.equal((await exchange(session, { ':path': '/once' })).headers[':status'], 200);
  const startedMs = Date.now();
  await goaway;
  assert.ok(Date.now() - startedMs < 5000);
});

test('WebSocket upgrades still work on the TLS port that also speaks h2 (wss over HTTP/1.1)', { skip }, async (t) => {
  const ca = await createTestCa();
  const { createServer } = await import('node:http');
  const { WebSocketServer, WebSocket } = await import('ws');
  const http = createServer();
  const wss = new WebSocketServer({ server: http });
  wss.on('connection', (ws) => ws.on('message', (data) => ws.send(`echo:${data.toString()}`)));
  await new Promise<void>((r) => http.listen({ host: '127.0.0.1', port: 0 }, r));
  // upgraded sockets are not the HTTP server's any more: end them, or close() waits for them
  t.after(() => new Promise<void>((r) => (wss.clients.forEach((c) => c.terminate()), wss.close(), http.close(() => r()), http.closeAllConnections())));
  const address = `127.0.0.1:${(http.address() as { port: number }).port}`;
  const { port } = await serveTls(t, ca, `[[backends]]\nname = "ws"\naddress = "${address}"`);
  const client = new WebSocket(`wss://localhost:${port}/socket`, { ca: ca.certPem });
  t.after(() => client.terminate());
  await new Promise<void>((resolve, reject) => (client.once('open', () => resolve()), client.once('error', reject)));
  const reply = new Promise<string>((resolve) => client.once('message', (data: Buffer) => resolve(data.toString())));
  client.send('hi');
  assert.equal(await reply, 'echo:hi');
});

test('CONNECT over h2 and h2c is refused with 400 as over HTTP/1.1: Sibyl is no forward proxy', { skip }, async (t) => {
  const ca = await createTestCa();
  const [a] = (await backends(t, ['a'])) as [TestBackend];
  const { sibyl: tls, port } = await serveTls(t, ca, backendsToml([a]));
  const clear = await startSibyl(testConfig(`[health]\nenabled = false\n[http2]\nallow_h2c = true\n${backendsToml([a])}`));
  t.after(() => clear.stop());
  for (const [session, adminUrl] of [[h2(t, `https://localhost:${port}`, ca), tls.adminUrl], [h2(t, clear.proxyUrl), clear.adminUrl]] as const) {
    const answer = await exchange(session, { ':method': 'CONNECT', ':authority': 'example.com:443' });
    assert.equal(answer.headers[':status'], 400);
    assert.match(answer.body, /SIBYL_ERR_CLIENT_NOT_A_PROXY/);
    assert.equal(await metricValue(adminUrl, 'sibyl_proxy_limit_rejections_total', { limit: 'not_a_proxy' }), 1);
  }
  assert.equal(a.seen.length, 0);
});
