import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHttpProbe } from './http-probe.ts';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;
let handler: Handler = (_req, res) => res.end('ok');
const server: Server = createServer((req, res) => handler(req, res));
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const target = { host: '127.0.0.1', port: (server.address() as AddressInfo).port };
after(() => {
  server.closeAllConnections();
  server.close();
});

async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const { port } = s.address() as AddressInfo;
  await new Promise((resolve) => s.close(resolve));
  return port;
}

const probe = createHttpProbe({ path: '/healthz', expectedStatusMin: 200, expectedStatusMax: 299 });
const signal = () => new AbortController().signal;

test('a status in range is healthy and the probe GETs the configured path', async () => {
  let seen = '';
  handler = (req, res) => {
    seen = `${req.method} ${req.url}`;
    res.end('ok');
  };
  assert.equal(await probe.check(target, signal()), true);
  assert.equal(seen, 'GET /healthz');
});

test('a status out of range is unhealthy', async () => {
  handler = (_req, res) => {
    res.statusCode = 500;
    res.end('boom');
  };
  assert.equal(await probe.check(target, signal()), false);
  handler = (_req, res) => {
    res.statusCode = 302;
    res.end();
  };
  assert.equal(await probe.check(target, signal()), false);
  const lenient = createHttpProbe({ path: '/', expectedStatusMin: 200, expectedStatusMax: 399 });
  assert.equal(await lenient.check(target, signal()), true);
});

test('the Host header can be set', async () => {
  let host: string | undefined;
  handler = (req, res) => {
    host = req.headers.host;
    res.end();
  };
  await createHttpProbe({ path: '/', expectedStatusMin: 200, expectedStatusMax: 299, hostHeader: 'api.internal' }).check(target, signal());
  assert.equal(host, 'api.internal');
});

test('a large body is consumed before answering', async () => {
  handler = (_req, res) => res.end(Buffer.alloc(1 << 20));
  assert.equal(await probe.check(target, signal()), true);
});

test('a closed port is unhealthy, not an exception', async () => {
  assert.equal(await probe.check({ host: '127.0.0.1', port: await closedPort() }, signal()), false);
});

test('an abort while waiting for the response resolves false', async () => {
  handler = () => {}; // never answers
  const controller = new AbortController();
  const result = probe.check(target, controller.signal);
  controller.abort();
  assert.equal(await result, false);
});

test('headers followed by a stalled body are not healthy', async () => {
  let sentHeaders!: () => void;
  const headersSent = new Promise<void>((resolve) => (sentHeaders = resolve));
  handler = (_req, res) => {
    res.writeHead(200, { 'content-length': '10' });
    res.write('abc', () => sentHeaders());
  };
  const controller = new AbortController();
  const result = probe.check(target, controller.signal);
  await headersSent;
  controller.abort();
  assert.equal(await result, false);
});

test('an already aborted signal resolves false without connecting', async () => {
  let isCalled = false;
  handler = (_req, res) => {
    isCalled = true;
    res.end();
  };
  assert.equal(await probe.check(target, AbortSignal.abort()), false);
  assert.equal(isCalled, false);
});
