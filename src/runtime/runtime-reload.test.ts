// What a reload applies to live state (with a manual clock, no sockets): shedding limits, health
// thresholds of backends that stay, health_cap, turning health checks off, a pool's own EWMA
// half-life; and what it cannot apply, named in `needsRestart`.
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import pino from 'pino';
import { ManualClock } from '../core/clock.ts';
import { mathRng } from '../core/rng.ts';
import { ErrorKind } from '../core/outcome.ts';
import { parseConfigText } from '../config/load.ts';
import type { Config } from '../config/schema.ts';
import { createMetrics } from '../metrics/catalogue.ts';
import type { Backend } from './backend.ts';
import { Runtime } from './runtime.ts';

const BACKENDS = '[[backends]]\nname = "a"\naddress = "127.0.0.1:9"\n[[backends]]\nname = "b"\naddress = "127.0.0.1:10"\n';

function config(text: string, backends = BACKENDS): Config {
  const result = parseConfigText(`[telemetry]\nenabled = false\n${text}\n${backends}`, 'test', {});
  if (!result.ok) throw new Error(JSON.stringify(result.problems));
  return result.config;
}

function runtimeOf(t: TestContext, text: string, backends?: string) {
  const clock = new ManualClock();
  const runtime = new Runtime(config(text, backends), { clock, rng: mathRng, metrics: createMetrics({ collectProcessMetrics: false }), logger: pino({ level: 'silent' }) });
  t.after(() => runtime.stop());
  return { clock, runtime };
}

const backend = (runtime: Runtime, name: string): Backend => {
  const b = runtime.current.findBackend(name);
  assert.ok(b !== undefined, name);
  return b;
};

test('load shedding limits apply on reload to backends that stay, keeping what was learned within them', (t) => {
  const { runtime } = runtimeOf(t, '[load_shedding]\nenabled = true\ninitial_limit = 50\nmax_limit = 100\nmax_queue = 5');
  assert.equal(backend(runtime, 'a').limiter?.limit, 50);
  runtime.apply(config('[load_shedding]\nenabled = true\ninitial_limit = 5\nmax_limit = 10\nmax_queue = 1'));
  assert.equal(backend(runtime, 'a').limiter?.limit, 10, 'max_limit caps the learned limit at once');
  runtime.apply(config('[load_shedding]\nenabled = true\ninitial_limit = 25\nmin_limit = 20\nmax_limit = 30'));
  assert.equal(backend(runtime, 'a').limiter?.limit, 20, 'min_limit lifts it');

  // max_queue: a second waiter is refused with max_queue = 1
  runtime.apply(config('[load_shedding]\nenabled = true\nmax_queue = 1'));
  const waiter = { tryStart: () => false, onExpired: () => {} };
  assert.notEqual(runtime.admission.enqueue(waiter, 1000), undefined);
  assert.equal(runtime.admission.enqueue(waiter, 1000), undefined, 'the reloaded max_queue applies');
});

test('health thresholds apply on reload to backends that stay', (t) => {
  const { runtime } = runtimeOf(t, '[health]\nunhealthy_threshold = 3');
  runtime.apply(config('[health]\nunhealthy_threshold = 1'));
  const a = backend(runtime, 'a');
  runtime.applyHealthProbe(a.key, false);
  assert.equal(a.isHealthy, false, 'one failed check is enough after the reload');
});

test('[health] enabled = false by reload brings back the backends that checks had taken out', (t) => {
  const { runtime } = runtimeOf(t, '[health]\nunhealthy_threshold = 1');
  const a = backend(runtime, 'a');
  runtime.applyHealthProbe(a.key, false);
  assert.equal(a.isHealthy, false);
  assert.deepEqual(runtime.current.defaultPool.eligibleSet.eligible.map((b) => b.id), ['b']);
  runtime.apply(config('[health]\nenabled = false'));
  assert.equal(a.isHealthy, true);
  assert.deepEqual(runtime.current.defaultPool.eligibleSet.eligible.map((b) => b.id).sort(), ['a', 'b'], 'a is in service again');
});

test('health_cap applies on reload: a larger ring keeps more events', (t) => {
  const { runtime } = runtimeOf(t, '[runtime]\nhealth_cap = 2');
  runtime.apply(config('[runtime]\nhealth_cap = 100'));
  for (let i = 0; i < 3; i++) {
    runtime.drain('a');
    runtime.undrain('a');
  }
  assert.equal(runtime.recentHealthEvents().length, 6);
});

test('a pool\'s own ewma_half_life applies to its backends; the top-level one to the default pool', (t) => {
  const pools = '[[pools]]\nname = "fast"\n[pools.strategy]\newma_half_life = "1s"\n[[pools.backends]]\nname = "p"\naddress = "127.0.0.1:11"\n';
  const { runtime, clock } = runtimeOf(t, `[strategy]\newma_half_life = "100s"\n${pools}`);
  const p = backend(runtime, 'p');
  const a = backend(runtime, 'a');
  for (const b of [p, a]) runtime.recordOutcome(b, { status: 200, errorKind: ErrorKind.none, latencyMs: 100 });
  clock.advance(1000);
  assert.ok(Math.abs(p.latencyEwmaMs - 50) < 0.5, `the pool's 1 s half-life: ${p.latencyEwmaMs}`);
  assert.ok(a.latencyEwmaMs > 99, `the top-level 100 s half-life: ${a.latencyEwmaMs}`);
});

test('a reload names the changed keys that need a restart, against the config the process started with', (t) => {
  const { runtime } = runtimeOf(t, '[proxy]\nlisten_address = "127.0.0.1:0"');
  const first = runtime.apply(config('[proxy]\nlisten_address = "127.0.0.1:8081"\nmax_header_bytes = 1000\n[admin]\ntoken = "s3cret"\n[log]\nlevel = "debug"'));
  assert.equal(first.ok, true);
  assert.deepEqual([...first.needsRestart].sort(), ['admin', 'proxy.listen_address', 'proxy.max_header_bytes']);
  // a later reload of other keys still reports what waits for a restart; undoing a change clears it
  const second = runtime.apply(config('[proxy]\nlisten_address = "127.0.0.1:0"\nmax_header_bytes = 1000\n[admin]\ntoken = "s3cret"'));
  assert.deepEqual([...second.needsRestart].sort(), ['admin', 'proxy.max_header_bytes']);
  assert.deepEqual(runtime.lastReload.needsRestart, second.needsRestart);
  const third = runtime.apply(config('[proxy]\nlisten_address = "127.0.0.1:0"\n[health]\nunhealthy_threshold = 1\n[load_shedding]\ninitial_limit = 5\nmax_limit = 10'));
  assert.deepEqual(third.needsRestart, [], 'keys that apply on reload are never listed');
});

test('backends.id is carried into the backend view, and follows a reload', (t) => {
  const { runtime } = runtimeOf(t, '', '[[backends]]\nid = 7\nname = "a"\naddress = "127.0.0.1:9"\n');
  assert.equal(backend(runtime, 'a').toJSON().id, 7);
  runtime.apply(config('', '[[backends]]\nid = 8\nname = "a"\naddress = "127.0.0.1:9"\n'));
  assert.equal(backend(runtime, 'a').toJSON().id, 8);
});
