import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import type { AddressInfo, Server } from 'node:net';
import { createTcpProbe } from './tcp-probe.ts';

async function listen(): Promise<Server> {
  const server = createServer((socket) => socket.on('error', () => {}));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

const server = await listen();
const port = (server.address() as AddressInfo).port;
after(() => server.close());

const probe = createTcpProbe();

test('a listening socket is healthy and the connection is closed afterwards', async () => {
  assert.equal(await probe.check({ host: '127.0.0.1', port }, new AbortController().signal), true);
  const deadline = Date.now() + 2000;
  let count = 1;
  while (Date.now() < deadline) {
    count = await new Promise<number>((resolve, reject) => server.getConnections((err, n) => (err ? reject(err) : resolve(n))));
    if (count === 0) break;
    await new Promise((resolve) => setImmediate(resolve));
  }
  assert.equal(count, 0);
});

test('a closed port is unhealthy', async () => {
  const closed = await listen();
  const closedPort = (closed.address() as AddressInfo).port;
  await new Promise((resolve) => closed.close(resolve));
  assert.equal(await probe.check({ host: '127.0.0.1', port: closedPort }, new AbortController().signal), false);
});

test('an already aborted signal is unhealthy', async () => {
  assert.equal(await probe.check({ host: '127.0.0.1', port }, AbortSignal.abort()), false);
});

test('an abort during connect resolves false', async () => {
  const controller = new AbortController();
  const result = probe.check({ host: '127.0.0.1', port }, controller.signal);
  controller.abort();
  assert.equal(await result, false);
});
