// WebSocket pass-through through the real binary: the upgrade reaches a real `ws` backend,
// messages flow both ways, closes are clean, and an upgrade with nowhere to go gets 503. Upgrades
// are routed and rate limited like requests, and a backend that never answers gets a 504.
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { WebSocket as WsClient, WebSocketServer, type WebSocket as WsSocket } from 'ws';
import { assertSibylError, httpToml, sampleValue, scrapeMetrics } from '../helpers/http-fixture.ts';
import { startRawBackend, type RawBackend } from '../helpers/raw-backend.ts';
import { rawRequest } from '../helpers/raw-http.ts';
import { eventually, startSibyl, type SibylProcess } from '../helpers/sibyl-process.ts';

interface WsBackend {
  readonly address: string;
  readonly upgrades: IncomingMessage[];
  readonly closes: { code: number; reason: string }[];
  readonly sockets: WsSocket[];
  close(): Promise<void>;
}

/** A `ws` server that greets, echoes text as "echo:<text>" and binary as is, and records closes. */
async function startWsBackend(): Promise<WsBackend> {
  const http: Server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end('plain http');
  });
  const wss = new WebSocketServer({ server: http });
  const backend = { upgrades: [] as IncomingMessage[], closes: [] as { code: number; reason: string }[], sockets: [] as WsSocket[] };
  wss.on('connection', (ws, req) => {
    backend.upgrades.push(req);
    backend.sockets.push(ws);
    ws.send('hello from backend');
    ws.on('message', (data, isBinary) => {
      if (isBinary) ws.send(data, { binary: true });
      else ws.send(`echo:${data.toString()}`);
    });
    ws.on('close', (code, reason) => backend.closes.push({ code, reason: reason.toString() }));
  });
  await new Promise<void>((r) => http.listen({ host: '127.0.0.1', port: 0 }, r));
  const port = (http.address() as { port: number }).port;
  return {
    ...backend,
    address: `127.0.0.1:${port}`,
    close: async () => {
      for (const client of wss.clients) client.terminate();
      await new Promise<void>((r) => wss.close(() => r()));
      await new Promise<void>((r) => {
        http.close(() => r());
        http.closeAllConnections();
      });
    },
  };
}

/** A WebSocket (Node 24's global one) with its messages queued for awaiting in order. */
async function connect(url: string): Promise<{ ws: WebSocket; next: () => Promise<string | ArrayBuffer>; closed: Promise<CloseEvent> }> {
  const ws = new WebSocket(url);
  ws.binaryType = 'arraybuffer';
  const queue: (string | ArrayBuffer)[] = [];
  const waiters: ((m: string | ArrayBuffer) => void)[] = [];
  ws.addEventListener('message', (e: MessageEvent) => {
    const waiter = waiters.shift();
    if (waiter !== undefined) waiter(e.data as string | ArrayBuffer);
    else queue.push(e.data as string | ArrayBuffer);
  });
  const closed = new Promise<CloseEvent>((resolve) => ws.addEventListener('close', resolve));
  await new Promise<void>((resolve, reject) => {
    ws.addEventListener('open', () => resolve());
    ws.addEventListener('error', () => reject(new Error(`WebSocket to ${url} failed`)));
  });
  const next = (): Promise<string | ArrayBuffer> => {
    const queued = queue.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    return new Promise((resolve, reject) => {
      waiters.push(resolve);
      void closed.then(() => reject(new Error('closed while waiting for a message')));
    });
  };
  return { ws, next, closed };
}

describe('WebSocket upgrade proxied end to end', { timeout: 60_000 }, () => {
  let backend: WsBackend;
  let sibyl: SibylProcess;
  let wsUrl: string;

  before(async () => {
    backend = await startWsBackend();
    sibyl = await startSibyl(httpToml({ backends: `[[backends]]\nname = "ws"\naddress = "${backend.address}"\n` }));
    wsUrl = `${sibyl.proxyUrl.replace('http://', 'ws://')}/chat?room=1`;
  });
  after(async () => {
    await sibyl?.stop();
    await backend?.close();
  });

  test('messages flow both ways (text, binary, 1 MiB) and a client close is clean on both sides', async () => {
    const { ws, next, closed } = await connect(wsUrl);
    assert.equal(await next(), 'hello from backend', 'backend -> client');
    ws.send('ping');
    assert.equal(await next(), 'echo:ping', 'client -> backend -> client');
    ws.send(new Uint8Array([0, 1, 2, 254, 255]));
    assert.deepEqual([...new Uint8Array((await next()) as ArrayBuffer)], [0, 1, 2, 254, 255]);
    const big = 'x'.repeat(1 << 20);
    ws.send(big);
    assert.equal(await next(), `echo:${big}`);

    ws.close(4001, 'bye');
    const event = await closed;
    assert.equal(event.code, 4001);
    assert.equal(event.reason, 'bye');
    assert.equal(event.wasClean, true);
    await eventually(() => backend.closes.some((c) => c.code === 4001 && c.reason === 'bye'));
  });

  test('a close started by the backend reaches the client cleanly', async () => {
    const { next, closed } = await connect(wsUrl);
    assert.equal(await next(), 'hello from backend');
    backend.sockets.at(-1)?.close(4002, 'server done');
    const event = await closed;
    assert.equal(event.code, 4002);
    assert.equal(event.reason, 'server done');
    assert.equal(event.wasClean, true);
  });

  test('the backend sees the handshake with path, forwarding headers and request id', async () => {
    const client = new WsClient(wsUrl, { headers: { 'x-request-id': 'ws-trace-1', 'x-forwarded-for': '203.0.113.9' } });
    const upgrade = new Promise<IncomingMessage['headers']>((resolve, reject) => {
      client.once('upgrade', (res) => resolve(res.headers));
      client.once('error', reject);
    });
    const opened = new Promise<void>((resolve) => client.once('open', () => resolve()));
    const upgradeHeaders = await upgrade;
    await opened;
    const seen = backend.upgrades.at(-1);
    assert.equal(seen?.url, '/chat?room=1');
    assert.equal(seen?.headers.upgrade?.toLowerCase(), 'websocket');
    assert.equal(seen?.headers['x-request-id'], 'ws-trace-1');
    assert.equal(seen?.headers['x-forwarded-for'], '203.0.113.9, 127.0.0.1');
    assert.equal(seen?.headers['x-forwarded-proto'], 'http');
    assert.equal(upgradeHeaders.upgrade?.toString().toLowerCase(), 'websocket');
    const closed = new Promise<number>((resolve) => client.once('close', (code) => resolve(code)));
    client.close(1000);
    assert.equal(await closed, 1000);
  });

  test('the backend connection is released after the close (admin API shows inFlight 0)', async () => {
    const { ws, next, closed } = await connect(wsUrl);
    assert.equal(await next(), 'hello from backend');
    ws.close(1000);
    await closed;
    await eventually(async () => {
      const view = (await (await fetch(`${sibyl.adminUrl}/api/backends`)).json()) as { backends: { name: string; inFlight: number }[] };
      return view.backends.find((b) => b.name === 'ws')?.inFlight === 0;
    });
    const metrics = await scrapeMetrics(sibyl.adminUrl);
    assert.ok(sampleValue(metrics, 'sibyl_proxy_websocket_upgrades_total', { result: 'ok' }) >= 1);
  });
});

describe('WebSocket upgrade with no backend', { timeout: 60_000 }, () => {
  let backend: WsBackend;
  let sibyl: SibylProcess;

  before(async () => {
    backend = await startWsBackend();
    sibyl = await startSibyl(httpToml({ backends: `[[backends]]\nname = "ws"\naddress = "${backend.address}"\n` }));
    const drained = await fetch(`${sibyl.adminUrl}/api/backends/ws/drain`, { method: 'POST' });
    assert.equal(drained.status, 200);
  });
  after(async () => {
    await sibyl?.stop();
    await backend?.close();
  });

  test('-> 503 SIBYL_ERR_ROUTE_NO_BACKEND, no handshake, connection closed', async () => {
    const res = await rawRequest(
      sibyl.proxyUrl,
      'GET /chat HTTP/1.1\r\nHost: app.example\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n' +
        'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nX-Request-Id: ws-none-1\r\n\r\n',
    );
    const body = assertSibylError(res, 503, 'SIBYL_ERR_ROUTE_NO_BACKEND');
    assert.equal(body.requestId, 'ws-none-1');
    assert.equal(res.isClosed, true);
    assert.equal(backend.upgrades.length, 0);

    // a real client sees the 503 and never opens
    const client = new WsClient(`${sibyl.proxyUrl.replace('http://', 'ws://')}/chat`);
    client.on('error', () => undefined); // terminate() while connecting reports an error
    const status = await new Promise<number>((resolve) => {
      client.once('unexpected-response', (_req, response) => resolve(response.statusCode ?? 0));
      client.once('open', () => resolve(101));
    });
    client.terminate();
    assert.equal(status, 503);
    const metrics = await scrapeMetrics(sibyl.adminUrl);
    assert.equal(sampleValue(metrics, 'sibyl_proxy_websocket_upgrades_total', { result: 'error' }), 2);
  });
});

const HANDSHAKE = 'Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n';

describe('WebSocket upgrades take the request phases: route, rate limits, shedding, handshake timeout', { timeout: 60_000 }, () => {
  let main: WsBackend;
  let chat: WsBackend;
  let silent: RawBackend;
  let sibyl: SibylProcess;
  const HEADER_TIMEOUT_MS = 300;

  before(async () => {
    main = await startWsBackend();
    chat = await startWsBackend();
    silent = await startRawBackend('silent', () => undefined); // accepts the connection, reads the handshake, never answers
    const rest = [
      '[health]\nenabled = false',
      `[[pools]]\nname = "chat"\n[[pools.backends]]\nname = "chat-1"\naddress = "${chat.address}"`,
      `[[pools]]\nname = "quiet"\n[[pools.backends]]\nname = "silent"\naddress = "${silent.address}"`,
      '[[routes]]\nname = "chat"\npath_prefix = "/chat"\npool = "chat"',
      '[[routes]]\nname = "quiet"\npath_prefix = "/silent"\npool = "quiet"',
      '[[rate_limits]]\nname = "ws-limited"\npath_prefix = "/limited"\nrate = 0.01\nburst = 1',
      // one slot per backend and no queue: a second concurrent handshake is shed at once
      '[load_shedding]\nenabled = true\ninitial_limit = 1\nmin_limit = 1\nmax_limit = 1\nmax_queue = 0',
    ].join('\n');
    sibyl = await startSibyl(httpToml({ proxy: `response_header_timeout = "${HEADER_TIMEOUT_MS}ms"`, rest, backends: `[[backends]]\nname = "main"\naddress = "${main.address}"\n` }));
  });
  after(async () => {
    await sibyl?.stop();
    await Promise.all([main?.close(), chat?.close(), silent?.close()]);
  });

  test("an upgrade on a route goes to that route's pool; the rest to the default pool", async () => {
    const wsBase = sibyl.proxyUrl.replace('http://', 'ws://');
    const onRoute = await connect(`${wsBase}/chat/room-7`);
    assert.equal(await onRoute.next(), 'hello from backend');
    const unrouted = await connect(`${wsBase}/other`);
    assert.equal(await unrouted.next(), 'hello from backend');
    assert.deepEqual(chat.upgrades.map((r) => r.url), ['/chat/room-7']);
    assert.deepEqual(main.upgrades.map((r) => r.url), ['/other']);
    onRoute.ws.close(1000);
    unrouted.ws.close(1000);
    await Promise.all([onRoute.closed, unrouted.closed]);
  });

  test('an upgrade over the rate limit gets 429 with the rate limit headers, before any handshake', async () => {
    const first = await connect(`${sibyl.proxyUrl.replace('http://', 'ws://')}/limited`);
    assert.equal(await first.next(), 'hello from backend');
    const before = main.upgrades.length;
    const res = await rawRequest(sibyl.proxyUrl, `GET /limited HTTP/1.1\r\nHost: app.example\r\n${HANDSHAKE}X-Request-Id: ws-limited-2\r\n\r\n`, { untilResponse: true, timeoutMs: 10_000 });
    const body = assertSibylError(res, 429, 'SIBYL_ERR_PROTECT_RATE_LIMITED');
    assert.equal(body.requestId, 'ws-limited-2');
    assert.ok(Number(res.headers['retry-after']) >= 1, `retry-after: ${String(res.headers['retry-after'])}`);
    assert.match(String(res.headers['ratelimit-policy']), /^"ws-limited";q=1;/);
    assert.match(String(res.headers.ratelimit), /^"ws-limited";r=0;t=\d+/);
    assert.equal(main.upgrades.length, before, 'the backend never saw the refused upgrade');
    first.ws.close(1000);
    await first.closed;
    const metrics = await scrapeMetrics(sibyl.adminUrl);
    assert.equal(sampleValue(metrics, 'sibyl_proxy_websocket_upgrades_total', { result: 'limited' }), 1);
    assert.equal(sampleValue(metrics, 'sibyl_protect_rate_limit_requests_total', { limit: 'ws-limited', decision: 'limited' }), 1);
  });

  test('a backend that accepts the connection but never answers the upgrade -> 504 after response_header_timeout', async () => {
    const started = performance.now();
    const res = await rawRequest(sibyl.proxyUrl, `GET /silent HTTP/1.1\r\nHost: app.example\r\n${HANDSHAKE}\r\n`, { untilResponse: true, timeoutMs: 10_000 });
    const ms = performance.now() - started;
    assertSibylError(res, 504, 'SIBYL_ERR_UPSTREAM_TIMEOUT');
    assert.equal(silent.heads.length, 1, 'the backend got the handshake');
    assert.ok(ms >= HEADER_TIMEOUT_MS - 10, `not before the timeout (${Math.round(ms)} ms)`);
    // a bound derived from the timeout: a few times it, plus scheduling slack on a busy machine
    assert.ok(ms < 4 * HEADER_TIMEOUT_MS + 1000, `504 after ${Math.round(ms)} ms for a ${HEADER_TIMEOUT_MS} ms timeout`);
    assert.equal(res.headers.connection, 'close');
    const metrics = await scrapeMetrics(sibyl.adminUrl);
    assert.equal(sampleValue(metrics, 'sibyl_proxy_websocket_upgrades_total', { result: 'timeout' }), 1);
    assert.equal(sampleValue(metrics, 'sibyl_proxy_upstream_errors_total', { backend: 'silent', error_kind: 'timeout' }), 1);
    await eventually(async () => {
      const view = (await (await fetch(`${sibyl.adminUrl}/api/backends`)).json()) as { backends: { name: string; inFlight: number }[] };
      return view.backends.find((b) => b.name === 'silent')?.inFlight === 0;
    });
  });

  test('a pending handshake holds the backend\'s concurrency slot (another is shed); an open WebSocket does not', async () => {
    const wsBase = sibyl.proxyUrl.replace('http://', 'ws://');
    // the limit is 1: two open WebSockets side by side means the first gave its slot back
    const first = await connect(`${wsBase}/other`);
    const second = await connect(`${wsBase}/other`);
    assert.equal(await second.next(), 'hello from backend');
    const pending = rawRequest(sibyl.proxyUrl, `GET /silent HTTP/1.1\r\nHost: app.example\r\n${HANDSHAKE}\r\n`, { untilResponse: true, timeoutMs: 10_000 });
    await eventually(() => silent.heads.length === 2);
    const shed = await rawRequest(sibyl.proxyUrl, `GET /silent HTTP/1.1\r\nHost: app.example\r\n${HANDSHAKE}\r\n`, { untilResponse: true, timeoutMs: 10_000 });
    assertSibylError(shed, 503, 'SIBYL_ERR_PROTECT_SHED');
    assert.ok(Number(shed.headers['retry-after']) >= 1);
    assert.equal(silent.heads.length, 2, 'the shed handshake never reached the backend');
    assertSibylError(await pending, 504, 'SIBYL_ERR_UPSTREAM_TIMEOUT');
    const metrics = await scrapeMetrics(sibyl.adminUrl);
    assert.equal(sampleValue(metrics, 'sibyl_proxy_websocket_upgrades_total', { result: 'shed' }), 1);
    first.ws.close(1000);
    second.ws.close(1000);
    await Promise.all([first.closed, second.closed]);
  });
});
