// Rate limits in the running process, with a manual clock: the 429 answer, reload semantics, and
// shared limits across two "instances" on one memory store (what Redis does for a fleet).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import pino from 'pino';
import { ManualClock } from '../core/clock.ts';
import { mathRng } from '../core/rng.ts';
import { parseConfigText } from '../config/load.ts';
import type { Config } from '../config/schema.ts';
import { createMetrics } from '../metrics/catalogue.ts';
import { createMemorySharedState } from '../shared/memory-shared-state.ts';
import { RateLimitSync } from './rate-limit-sync.ts';
import { RateLimits } from './rate-limits.ts';

function config(text: string): Config {
  const result = parseConfigText(`[[backends]]\naddress = "127.0.0.1:9"\n${text}`, 'test', {});
  if (!result.ok) throw new Error(JSON.stringify(result.problems));
  return result.config;
}

function deps(clock: ManualClock) {
  return { clock, rng: mathRng, metrics: createMetrics({ collectProcessMetrics: false }), logger: pino({ level: 'silent' }) };
}

const facts = (url: string, clientIp = '10.0.0.1'): [string, string, Record<string, string>, undefined] => [url, clientIp, {}, undefined];

test('a refused request gets 429, Retry-After and the RateLimit fields; other paths and keys are not counted', async () => {
  const clock = new ManualClock();
  const d = deps(clock);
  const limits = new RateLimits(config('[[rate_limits]]\nname = "api"\npath_prefix = "/api"\nrate = 2\nburst = 3\n[[rate_limits]]\nname = "by-key"\nkey = "header:x-api-key"\nrate = 100\n'), d);
  const results = Array.from({ length: 4 }, () => limits.check(...facts('/api/x'), 0));
  assert.deepEqual(results.slice(0, 3), [undefined, undefined, undefined]);
  const refused = results[3];
  assert.equal(refused?.spec.status, 429);
  assert.equal(refused?.spec.code, 'SIBYL_ERR_PROTECT_RATE_LIMITED');
  assert.deepEqual(refused?.headers, { 'retry-after': '1', 'ratelimit-policy': '"api";q=3;w=2', ratelimit: '"api";r=0;t=1' });
  assert.equal(limits.check(...facts('/apix'), 0), undefined, 'outside the prefix');
  assert.equal(limits.check(...facts('/api/x', '10.0.0.2'), 0), undefined, 'another client IP');
  const text = await d.metrics.registry.getSingleMetricAsString('sibyl_protect_rate_limit_requests_total');
  assert.match(text, /limit="api",decision="allowed"} 4/);
  assert.match(text, /limit="api",decision="limited"} 1/);
  assert.doesNotMatch(text, /limit="by-key"/, 'requests without the header are not counted by a header-keyed limit');
});

test('a reload keeps the buckets of unchanged limits and resets changed ones', () => {
  const clock = new ManualClock();
  const a = '[[rate_limits]]\nname = "a"\nrate = 1\nburst = 1\n';
  const limits = new RateLimits(config(`${a}[[rate_limits]]\nname = "b"\nkey = "route"\nrate = 1\nburst = 1\n`), deps(clock));
  assert.equal(limits.check(...facts('/'), 0), undefined);
  assert.equal(limits.check(...facts('/'), 0)?.spec.status, 429);
  limits.reconfigure(config(`${a}[[rate_limits]]\nname = "b"\nkey = "route"\nrate = 2\nburst = 1\n`));
  assert.equal(limits.check(...facts('/'), 0)?.spec.status, 429, 'a is unchanged: still empty');
  limits.reconfigure(config('[[rate_limits]]\nname = "a"\nrate = 1\nburst = 2\n'));
  assert.equal(limits.check(...facts('/'), 0), undefined, 'a changed: a fresh bucket');
});

const SHARED = (failMode: string) => `[[rate_limits]]\nname = "global"\nkey = "route"\nrate = 100\nburst = 20\nshared = true\n[shared]\nredis_url = "redis://127.0.0.1:6379"\nfail_mode = "${failMode}"\n`;

for (const { intervalMs, burst } of [{ intervalMs: 50, burst: 20 }, { intervalMs: 1000, burst: 40 }]) {
  test(`two instances sharing one store hold the global rate within 10 % under uneven load (sync every ${intervalMs} ms, burst ${burst})`, async () => {
    const clock = new ManualClock();
    const store = createMemorySharedState(clock);
    const instances = [0, 1].map(() => {
      const d = deps(clock);
      const limits = new RateLimits(config(SHARED('open').replace('burst = 20', `burst = ${burst}`)), d);
      return { limits, sync: new RateLimitSync(limits, store, { intervalMs, keyPrefix: 't:', store: 'redis' }, d), allowed: 0 };
    });
    // 10 s: instance 0 gets 300 req/s, instance 1 gets 100 req/s (400 offered for a limit of 100);
    // their syncs are half an interval apart
    for (let ms = 1; ms <= 10_000; ms++) {
      clock.advance(1);
      for (const [i, inst] of instances.entries()) {
        const perMs = i === 0 ? (ms % 10 < 3 ? 1 : 0) : ms % 10 === 0 ? 1 : 0;
        for (let k = 0; k < perMs; k++) if (inst.limits.check(...facts('/'), clock.now()) === undefined) inst.allowed++;
      }
      for (const [i, inst] of instances.entries()) if ((ms + (i * intervalMs) / 2) % intervalMs === 0) await inst.sync.syncOnce();
    }
    const total = instances[0]!.allowed + instances[1]!.allowed;
    const expected = 100 * 10 + burst; // rate x time + one burst
    assert.ok(Math.abs(total - expected) <= expected * 0.1, `allowed ${total}, expected ~${expected} (${instances.map((i) => i.allowed).join(' + ')})`);
    // alone, each instance would have let rate x time + burst through: without sharing the total would be ~2000
    assert.ok(instances[1]!.allowed > 100, `the lighter instance still gets a share (${instances[1]!.allowed})`);
  });
}

test('store unreachable: fail open enforces the limit per instance, fail closed refuses with 503; both recover', async () => {
  for (const failMode of ['open', 'closed'] as const) {
    const clock = new ManualClock();
    const store = createMemorySharedState(clock);
    const d = deps(clock);
    const limits = new RateLimits(config(SHARED(failMode)), d);
    const sync = new RateLimitSync(limits, store, { intervalMs: 50, keyPrefix: 't:', store: 'redis' }, d);
    assert.equal(limits.check(...facts('/'), 0), undefined);
    store.isReachable = false;
    await sync.syncOnce();
    assert.equal(limits.isSharedAvailable, false);
    assert.match(await d.metrics.registry.getSingleMetricAsString('sibyl_shared_redis_up'), / 0$/m);
    const decisions = Array.from({ length: 30 }, () => limits.check(...facts('/'), 0)?.spec.status ?? 200);
    if (failMode === 'open') assert.deepEqual([decisions.filter((s) => s === 200).length, decisions.filter((s) => s === 429).length], [19, 11], 'the local bucket still limits');
    else assert.ok(decisions.every((s) => s === 503), failMode);
    store.isReachable = true;
    clock.advance(1000);
    await sync.syncOnce();
    assert.equal(limits.isSharedAvailable, true, `${failMode}: recovered`);
    assert.equal(limits.check(...facts('/'), clock.now()), undefined);
  }
});

test('client_key: the telemetry client key when known, else computed from [telemetry] client_key', () => {
  const limits = new RateLimits(config('[[rate_limits]]\nname = "per-client"\nkey = "client_key"\nrate = 1\nburst = 1\n'), deps(new ManualClock()));
  const alice = { 'x-client-id': 'alice' };
  assert.equal(limits.check('/', '10.0.0.1', alice, undefined, 0), undefined);
  assert.equal(limits.check('/', '10.0.0.1', alice, undefined, 0)?.spec.status, 429, 'alice again, same IP');
  assert.equal(limits.check('/', '10.0.0.1', { 'x-client-id': 'bob' }, undefined, 0), undefined, 'bob behind the same IP has his own bucket');
  assert.equal(limits.check('/', '10.0.0.1', alice, 'known-key', 0), undefined, 'a client key computed by telemetry is used as is');
});
