import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import pino from 'pino';
import { ManualClock } from '../core/clock.ts';
import { validateDocument } from '../config/load.ts';
import type { Config } from '../config/schema.ts';
import { discoverySchema } from '../config/schema-discovery.ts';
import { createMetrics } from '../metrics/catalogue.ts';
import { DiscoverySupervisor, nextRefreshMs } from './discovery-supervisor.ts';

async function setup(initial: unknown) {
  const dir = await mkdtemp(join(tmpdir(), 'sibyl-supervisor-'));
  const path = join(dir, 'backends.json');
  await writeFile(path, JSON.stringify(initial));
  const clock = new ManualClock();
  const metrics = createMetrics({ collectProcessMetrics: false });
  let changes = 0;
  const supervisor = new DiscoverySupervisor({ clock, rng: { next: () => 0.5 }, metrics, logger: pino({ level: 'silent' }) }, () => changes++);
  const result = validateDocument({ discovery: { kind: 'file', path, interval: '1s' } }, {});
  assert.ok(result.ok);
  const config: Config = result.config;
  supervisor.configure(config.discovery);
  return { path, clock, metrics, supervisor, config, changes: () => changes };
}

const counter = async (metrics: ReturnType<typeof createMetrics>, result: string): Promise<number> => {
  const values = (await metrics.discoveryRefreshes.get()).values;
  return values.find((v) => v.labels.result === result)?.value ?? 0;
};

test('the last good set survives a failed and an empty refresh; both are counted and shown', async () => {
  const s = await setup([{ name: 'a', address: '127.0.0.1:9001' }]);
  await s.supervisor.refresh();
  assert.deepEqual(s.supervisor.backendsFor(s.config).map((b) => b.name), ['a']);
  assert.equal(s.changes(), 1);

  await writeFile(s.path, 'not json');
  await s.supervisor.refresh();
  await writeFile(s.path, '[]');
  await s.supervisor.refresh();
  assert.deepEqual(s.supervisor.backendsFor(s.config).map((b) => b.name), ['a'], 'the last good set stays');
  assert.equal(s.changes(), 1);
  assert.equal(await counter(s.metrics, 'failed'), 1);
  assert.equal(await counter(s.metrics, 'empty'), 1);
  const status = s.supervisor.status;
  assert.equal(status.consecutiveFailures, 2);
  assert.equal(status.lastFailure?.reason, 'empty');
  assert.equal((await s.metrics.discoveryConsecutiveFailures.get()).values[0]?.value, 2);

  await writeFile(s.path, JSON.stringify([{ name: 'a', address: '127.0.0.1:9001' }]));
  await s.supervisor.refresh();
  assert.equal(await counter(s.metrics, 'unchanged'), 1);
  assert.equal(s.supervisor.status.consecutiveFailures, 0);
  assert.equal(s.changes(), 1, 'an unchanged set builds no new generation');
});

test('started, it refreshes every interval and reports a change once', async () => {
  const s = await setup([{ name: 'a', address: '127.0.0.1:9001' }]);
  s.supervisor.start();
  s.clock.advance(0);
  await s.supervisor.refresh();
  assert.equal(s.changes(), 1);
  await writeFile(s.path, JSON.stringify([{ name: 'a', address: '127.0.0.1:9001' }, { name: 'b', address: '127.0.0.1:9002' }]));
  s.clock.advance(1000);
  await s.supervisor.refresh();
  assert.deepEqual(s.supervisor.backendsFor(s.config).map((b) => b.name), ['a', 'b']);
  assert.equal(s.changes(), 2);
  await s.supervisor.stop();
});

test('static discovery is the config\'s [[backends]]', () => {
  const result = validateDocument({ backends: [{ address: '127.0.0.1:1' }] }, {});
  assert.ok(result.ok);
  const supervisor = new DiscoverySupervisor({ clock: new ManualClock(), rng: { next: () => 0 }, metrics: createMetrics({ collectProcessMetrics: false }), logger: pino({ level: 'silent' }) }, () => assert.fail('no change'));
  supervisor.configure(result.config.discovery);
  assert.deepEqual(supervisor.backendsFor(result.config).map((b) => b.address), ['127.0.0.1:1']);
});

test('DNS refresh: the TTL bounded by min_ttl and max_ttl; no TTL or a failure: the interval', () => {
  const c = discoverySchema.parse({ kind: 'dns', name: 'x', port: 1, interval: '5s', minTtl: '2s', maxTtl: '30s' });
  const ok = (ttlMs: number | undefined) => ({ ok: true as const, backends: [], ttlMs });
  assert.equal(nextRefreshMs(c, ok(0)), 2000);
  assert.equal(nextRefreshMs(c, ok(10_000)), 10_000);
  assert.equal(nextRefreshMs(c, ok(3_600_000)), 30_000);
  assert.equal(nextRefreshMs(c, ok(undefined)), 5000);
  assert.equal(nextRefreshMs(c, { ok: false, reason: 'failed', message: 'x' }), 5000);
});
