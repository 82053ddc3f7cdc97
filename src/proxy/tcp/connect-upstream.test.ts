import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { test } from 'node:test';
import { createRoundRobin } from '../../balancer/round-robin.ts';
import { validateDocument } from '../../config/load.ts';
import { Backend } from '../../runtime/backend.ts';
import { Generation } from '../../runtime/generation.ts';
import { Pool } from '../../runtime/pool.ts';
import { createRouter } from '../../traffic/router.ts';
import { proxySettingsFrom } from '../../runtime/settings.ts';
import { connectUpstream } from './connect-upstream.ts';

const POOL = { connections: 1, connectTimeoutMs: 1000, headersTimeoutMs: 1000, bodyTimeoutMs: 1000, keepAliveTimeoutMs: 1000, tls: undefined };

async function listening(): Promise<Server> {
  const server = createServer((s) => s.end());
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return server;
}

async function refusingPort(): Promise<number> {
  const server = await listening();
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

function generation(ports: number[], connectAttempts: number): { generation: Generation; backends: Backend[] } {
  // the config gives the settings; the backends under test are built directly
  const result = validateDocument({ proxy: { kind: 'tcp' }, tcp: { connect_attempts: connectAttempts }, backends: [{ address: '127.0.0.1:1' }] }, {});
  assert.ok(result.ok);
  const backends = ports.map((port, i) => new Backend({ name: `b${i}`, host: '127.0.0.1', port, weight: 1 }, POOL, () => 0));
  const pool = new Pool({ name: 'default', backends, balancer: createRoundRobin(), computeEligible: (b) => ({ eligible: [...b], isPanic: false }), needsHashKey: false, hashHeader: undefined });
  return { generation: new Generation(1, proxySettingsFrom(result.config), new Map([['default', pool]]), pool, createRouter([], 'default', new Map())), backends };
}

test('a refused connect is recorded and the next backend is tried; the winner counts one open connection', async (t) => {
  const live = await listening();
  t.after(() => live.close());
  const { generation: g, backends } = generation([await refusingPort(), (live.address() as { port: number }).port], 3);
  const recorded: string[] = [];
  const result = await connectUpstream(g, '127.0.0.1', new AbortController().signal, {
    now: () => 0,
    record: (b, kind) => recorded.push(`${b.id}:${kind}`),
    onConnectFailure: () => undefined,
  });
  assert.ok(result.ok);
  result.upstream.destroy();
  assert.equal(result.backend, backends[1]);
  assert.deepEqual(recorded, ['b0:refused', 'b1:none']);
  assert.deepEqual(backends.map((b) => b.inFlight), [0, 1]);
});

test('connect_attempts bounds the backends tried; with none eligible the reason is no_backend', async () => {
  const { generation: g } = generation([await refusingPort(), await refusingPort(), await refusingPort()], 2);
  const failures: string[] = [];
  const deps = { now: () => 0, record: () => undefined, onConnectFailure: (b: Backend) => failures.push(b.id) };
  assert.deepEqual(await connectUpstream(g, '', new AbortController().signal, deps), { ok: false, reason: 'connect_failed' });
  assert.equal(failures.length, 2);
  const empty = generation([], 3).generation;
  assert.deepEqual(await connectUpstream(empty, '', new AbortController().signal, deps), { ok: false, reason: 'no_backend' });
});
