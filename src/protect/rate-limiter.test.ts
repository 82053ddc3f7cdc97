import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManualClock } from '../core/clock.ts';
import { LruTtlMap } from './lru-ttl-map.ts';
import { rateLimitField, rateLimitPolicyField, retryAfterSeconds } from './rate-limit-headers.ts';
import { isUnderPrefix, parseRateLimitKey, rateLimitKeyOf } from './rate-limit-key.ts';
import { RateLimiter } from './rate-limiter.ts';

const limiter = (ratePerSecond: number, burst: number, extra: { maxKeys?: number; keyTtlMs?: number } = {}, onEvict?: (r: 'size' | 'ttl') => void) =>
  new RateLimiter({ ratePerSecond, burst, maxKeys: extra.maxKeys ?? 1000, keyTtlMs: extra.keyTtlMs ?? 60_000 }, onEvict);

test('a burst is allowed at once, then requests pass at the rate', () => {
  const clock = new ManualClock(1000);
  const l = limiter(10, 5);
  const first = Array.from({ length: 7 }, () => l.take('a', clock.now()).isAllowed);
  assert.deepEqual(first, [true, true, true, true, true, false, false]);
  const refused = l.take('a', clock.now());
  assert.equal(refused.remaining, 0);
  assert.ok(Math.abs(refused.retryAfterMs - 100) < 1e-9, `one token takes 100 ms at 10/s (${refused.retryAfterMs})`);
  clock.advance(99);
  assert.equal(l.take('a', clock.now()).isAllowed, false);
  clock.advance(1);
  assert.equal(l.take('a', clock.now()).isAllowed, true);
  // over 10 simulated seconds at 1 request per ms, exactly rate x time (+ nothing: the bucket is empty)
  let allowed = 0;
  for (let i = 0; i < 10_000; i++) {
    clock.advance(1);
    if (l.take('a', clock.now()).isAllowed) allowed++;
  }
  assert.equal(allowed, 100);
});

test('keys have separate buckets, and an idle bucket refills only up to burst', () => {
  const clock = new ManualClock();
  const l = limiter(1, 2);
  assert.ok(l.take('a', 0).isAllowed && l.take('a', 0).isAllowed);
  assert.equal(l.take('a', 0).isAllowed, false);
  assert.equal(l.take('b', 0).isAllowed, true, 'b is not limited by a');
  clock.advance(60_000);
  const allowed = Array.from({ length: 4 }, () => l.take('a', clock.now()).isAllowed);
  assert.deepEqual(allowed, [true, true, false, false]);
});

test('key memory is bounded: least recently used keys go first, idle keys expire, both counted', () => {
  const evictions: string[] = [];
  const l = limiter(1, 1, { maxKeys: 3, keyTtlMs: 5000 }, (r) => evictions.push(r));
  for (const k of ['a', 'b', 'c']) l.take(k, 0);
  l.take('a', 1); // a is now the most recent
  l.take('d', 2); // evicts b, the least recently used
  assert.equal(l.keyCount, 3);
  assert.deepEqual(evictions, ['size']);
  assert.equal(l.take('a', 3).isAllowed, false, 'a kept its (empty) bucket');
  assert.equal(l.take('b', 3).isAllowed, true, 'b was forgotten: a fresh bucket');
  l.take('e', 20_000); // every other key idle for > 5 s
  assert.equal(l.keyCount, 1);
  assert.deepEqual(evictions.slice(1), ['size', 'ttl', 'ttl', 'ttl']);
});

test('the TTL never forgets a bucket that is not full yet', () => {
  const l = limiter(1, 10, { keyTtlMs: 1000 });
  for (let i = 0; i < 10; i++) l.take('a', 0);
  // 10 tokens at 1/s take 10 s to come back: after 5 s the bucket must still hold only ~5
  const after5s = Array.from({ length: 7 }, () => l.take('a', 5000).isAllowed).filter(Boolean).length;
  assert.equal(after5s, 5);
});

test('shared reconciliation: pending takes are reported once, and the global answer replaces the estimate', () => {
  const l = limiter(10, 10);
  for (let i = 0; i < 4; i++) l.take('a', 0);
  l.take('b', 0);
  assert.deepEqual(l.takePending(0), [{ key: 'a', count: 4 }, { key: 'b', count: 1 }]);
  assert.deepEqual(l.takePending(0), [], 'reported once');
  l.take('a', 0); // taken while the report was in flight
  l.correct('a', 2, 0); // globally 2 left after our 4 (other instances took the rest)
  assert.equal(l.take('a', 0).isAllowed, true);
  assert.equal(l.take('a', 0).isAllowed, false, '2 - 1 in flight - 1 now = 0 left');
  l.correct('b', -3, 0); // a debt: other instances overspent
  assert.equal(l.take('b', 300).isAllowed, false, '-3 + 3 tokens after 300 ms: still below 1');
  assert.equal(l.take('b', 400).isAllowed, true);
});

test('LruTtlMap returns nothing for an expired entry and counts it', () => {
  const evicted: string[] = [];
  const m = new LruTtlMap<number>({ maxEntries: 10, ttlMs: 100, onEvict: (r) => evicted.push(r) });
  m.set('x', 1, 0);
  assert.equal(m.get('x', 100), 1);
  assert.equal(m.get('x', 201), undefined);
  assert.deepEqual(evicted, ['ttl']);
  assert.equal(m.size, 0);
});

test('RateLimit fields follow draft-ietf-httpapi-ratelimit-headers', () => {
  const shape = { ratePerMs: 10 / 1000, burst: 20 };
  assert.equal(rateLimitPolicyField('per-ip', shape), '"per-ip";q=20;w=2');
  assert.equal(rateLimitField('per-ip', 0, 1), '"per-ip";r=0;t=1');
  assert.equal(retryAfterSeconds(0.5), 1);
  assert.equal(retryAfterSeconds(1001), 2);
});

test('keys: client IP, a header (absent: not counted), the client key, the route', () => {
  const req = { clientIp: '10.0.0.1', headers: { 'x-api-key': 'k1', multi: ['m1', 'm2'] }, clientKey: () => 'ck' };
  assert.equal(rateLimitKeyOf(parseRateLimitKey('client_ip')!, req), '10.0.0.1');
  assert.equal(rateLimitKeyOf(parseRateLimitKey('header:X-Api-Key')!, req), 'k1');
  assert.equal(rateLimitKeyOf(parseRateLimitKey('header:multi')!, req), 'm1');
  assert.equal(rateLimitKeyOf(parseRateLimitKey('header:x-missing')!, req), undefined);
  assert.equal(rateLimitKeyOf(parseRateLimitKey('client_key')!, req), 'ck');
  assert.equal(rateLimitKeyOf(parseRateLimitKey('route')!, req), '');
  assert.equal(parseRateLimitKey('cookie:x'), undefined);
  assert.ok(isUnderPrefix('/api', '/api') && isUnderPrefix('/api/x', '/api') && isUnderPrefix('/api?q=1', '/api'));
  assert.ok(!isUnderPrefix('/apix', '/api') && !isUnderPrefix('/other', '/api'));
  assert.ok(isUnderPrefix('/anything', '/') && isUnderPrefix('/api/x', '/api/'));
});

test('sweep releases the buckets of keys idle past the TTL without a new key arriving (a flood leaves no residue)', () => {
  const clock = new ManualClock(0);
  const evicted: string[] = [];
  const l = limiter(10, 10, { maxKeys: 100_000, keyTtlMs: 60_000 }, (reason) => evicted.push(reason));
  for (let i = 0; i < 50_000; i++) l.take(`flood-${i}`, clock.now());
  clock.advance(30_000);
  l.take('steady', clock.now());
  l.sweep(clock.now());
  assert.equal(l.keyCount, 50_001, 'nothing idle past the TTL yet');
  clock.advance(30_001);
  l.take('steady', clock.now());
  l.sweep(clock.now());
  assert.equal(l.keyCount, 1, 'only the key still in use is kept');
  assert.equal(evicted.length, 50_000);
  assert.ok(evicted.every((r) => r === 'ttl'));
});

test('takePending reports only the keys taken since the last report, also after more keys than maxKeys were pending', () => {
  const l = limiter(100, 100, { maxKeys: 3 });
  l.take('a', 0);
  l.take('b', 0);
  l.take('b', 0);
  assert.deepEqual(l.takePending(1), [{ key: 'a', count: 1 }, { key: 'b', count: 2 }]);
  for (const key of ['c', 'd', 'e', 'f']) l.take(key, 2); // more pending keys than tracked: a full walk once
  assert.deepEqual(l.takePending(3), [{ key: 'd', count: 1 }, { key: 'e', count: 1 }, { key: 'f', count: 1 }], 'c was pushed out by maxKeys');
  l.take('e', 4);
  assert.deepEqual(l.takePending(5), [{ key: 'e', count: 1 }]);
  assert.deepEqual(l.takePending(6), []);
});
