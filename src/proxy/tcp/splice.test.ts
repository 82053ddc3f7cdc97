import assert from 'node:assert/strict';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { test } from 'node:test';
import { splice } from './splice.ts';

/** A proxy on port 0 that splices each client to `target`; resolves each splice's result. */
async function proxyTo(target: number, idleTimeoutMs: number, results: Promise<unknown>[]): Promise<Server> {
  const server = createServer({ allowHalfOpen: true }, (client) => {
    const upstream = connect({ host: '127.0.0.1', port: target, allowHalfOpen: true });
    upstream.once('connect', () => results.push(splice(client, upstream, idleTimeoutMs)));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return server;
}

const port = (s: Server): number => (s.address() as { port: number }).port;

test('a half-close is passed on: a request ended by FIN gets its whole answer, and bytes are counted', async (t) => {
  // the backend answers once the client has finished sending (like a FIN-terminated protocol)
  const backend = createServer({ allowHalfOpen: true }, (s: Socket) => {
    const chunks: Buffer[] = [];
    s.on('data', (c: Buffer) => chunks.push(c));
    s.on('end', () => s.end(`got ${Buffer.concat(chunks).length} bytes`));
  });
  await new Promise<void>((r) => backend.listen(0, '127.0.0.1', r));
  const results: Promise<unknown>[] = [];
  const proxy = await proxyTo(port(backend), 5000, results);
  t.after(() => (proxy.close(), backend.close()));
  const client = connect({ host: '127.0.0.1', port: port(proxy), allowHalfOpen: true });
  let answer = '';
  client.setEncoding('utf8').on('data', (d: string) => (answer += d));
  client.end('x'.repeat(100_000));
  await new Promise((r) => client.once('end', r));
  assert.equal(answer, 'got 100000 bytes');
  client.destroy();
  await new Promise((r) => setImmediate(r));
  const result = (await results[0]) as { bytesIn: number; bytesOut: number; isIdleTimeout: boolean };
  assert.deepEqual(result, { bytesIn: 100_000, bytesOut: 16, isIdleTimeout: false });
});

test('an idle connection is cut on both sides', async (t) => {
  const backend = createServer(() => undefined);
  await new Promise<void>((r) => backend.listen(0, '127.0.0.1', r));
  const results: Promise<unknown>[] = [];
  const proxy = await proxyTo(port(backend), 100, results);
  t.after(() => (proxy.close(), backend.close()));
  const client = connect({ host: '127.0.0.1', port: port(proxy) });
  client.on('error', () => undefined);
  await new Promise((r) => client.once('close', r));
  const result = (await results[0]) as { isIdleTimeout: boolean };
  assert.equal(result.isIdleTimeout, true);
});
