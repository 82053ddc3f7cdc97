import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ClientProfiles, HISTORY_SLOTS, historySlotOf, responseClassOf, type ResponseClass } from './client-profile.ts';

const slot = (cls: ResponseClass, method = 'GET', attempt = 1): number => historySlotOf(cls, method, attempt);

test('a client that retries its 503s gets a high 5xx rate and a low 2xx rate', () => {
  const p = new ClientProfiles({ halfLifeMs: 600_000, maxClients: 10 });
  for (let i = 0; i < 9; i++) p.observe('c', slot('5xx'), 1, i);
  for (let i = 0; i < 9; i++) p.observe('c', slot('2xx'), 0, i);
  const s = p.stats('c', slot('5xx'), 10);
  assert.ok(Math.abs(s.rate - 0.9) < 0.01, String(s.rate)); // 9 / (9 + 1)
  assert.ok(Math.abs(s.count - 9) < 0.01);
  assert.equal(p.stats('c', slot('2xx'), 10).rate, 0);
  assert.deepEqual(p.stats('unknown', slot('5xx'), 10), { rate: 0, count: 0 });
});

test('history decays with the half-life', () => {
  const p = new ClientProfiles({ halfLifeMs: 1000, maxClients: 10 });
  p.observe('c', slot('429'), 1, 0);
  p.observe('c', slot('429'), 1, 0);
  assert.ok(Math.abs(p.stats('c', slot('429'), 1000).count - 1) < 1e-9);
});

test('bounded: the least recently seen client is evicted', () => {
  const p = new ClientProfiles({ halfLifeMs: 1000, maxClients: 2 });
  p.observe('a', slot('2xx'), 0, 0);
  p.observe('b', slot('2xx'), 0, 0);
  p.observe('a', slot('2xx'), 0, 1);
  p.observe('c', slot('2xx'), 0, 2);
  assert.equal(p.size, 2);
  assert.equal(p.stats('b', slot('2xx'), 3).count, 0);
  assert.ok(p.stats('a', slot('2xx'), 3).count > 0);
});

test('response classes', () => {
  assert.equal(responseClassOf(429, false), '429');
  assert.equal(responseClassOf(503, false), '5xx');
  assert.equal(responseClassOf(502, true), 'error');
  assert.equal(responseClassOf(204, false), '2xx');
});

test('history is kept apart by method group and attempt: a client retries a GET, not a POST, and stops at its limit', () => {
  const p = new ClientProfiles({ halfLifeMs: 600_000, maxClients: 10 });
  for (let i = 0; i < 9; i++) {
    p.observe('got', slot('429', 'GET', 1), 1, i);
    p.observe('got', slot('429', 'GET', 3), 0, i);
    p.observe('got', slot('429', 'POST', 1), 0, i);
  }
  assert.ok(p.stats('got', slot('429', 'PUT', 1), 10).rate > 0.8, 'PUT is idempotent like GET');
  assert.equal(p.stats('got', slot('429', 'GET', 3), 10).rate, 0, 'the third attempt is its last');
  assert.equal(p.stats('got', slot('429', 'PATCH', 1), 10).rate, 0, 'PATCH goes with POST');
  assert.equal(slot('429', 'GET', 9), slot('429', 'GET', 6), 'attempts 6 and later share a slot');
  const slots = new Set((['2xx', '3xx', '4xx', '429', '5xx', 'error'] as const).flatMap((c) => ['GET', 'POST'].flatMap((m) => [1, 2, 3, 4, 5, 6].map((a) => slot(c, m, a)))));
  assert.equal(slots.size, HISTORY_SLOTS);
  assert.ok([...slots].every((i) => i >= 0 && i < HISTORY_SLOTS));
});

test('sweep forgets clients idle longer than idle_ttl (4 half-lives by default), least recently seen first', () => {
  const halfLifeMs = 1000;
  const p = new ClientProfiles({ halfLifeMs, maxClients: 100_000 });
  for (let i = 0; i < 300; i++) p.observe(`steady-${i}`, slot('2xx'), 0, 0);
  // a flood of clients seen once
  for (let i = 0; i < 50_000; i++) p.observe(`flood-${i}`, slot('5xx'), 0, 1000);
  assert.equal(p.size, 50_300);
  // the steady clients come back; the flood does not
  for (let t = 2000; t <= 6000; t += 1000) for (let i = 0; i < 300; i++) p.observe(`steady-${i}`, slot('2xx'), 0, t);
  p.sweep(5000);
  assert.equal(p.size, 50_300, 'idle exactly 4 half-lives: kept');
  p.sweep(5001);
  assert.equal(p.size, 300, 'the flood is forgotten, the steady clients kept');
  assert.equal(p.stats('flood-1', slot('5xx'), 5001).count, 0);
  assert.ok(p.stats('steady-1', slot('2xx'), 6000).count > 1);
});

test('sweep with an explicit idle TTL, and a profile stores only the slots its client used', () => {
  const p = new ClientProfiles({ halfLifeMs: 600_000, maxClients: 10, idleTtlMs: 100 });
  p.observe('a', slot('429', 'GET', 1), 1, 0);
  p.observe('a', slot('429', 'GET', 2), 0, 0);
  p.observe('b', slot('2xx'), 0, 50);
  assert.equal(p.stats('a', slot('5xx'), 0).count, 0, 'an unused slot has no history');
  assert.equal(p.stats('a', slot('429', 'GET', 1), 0).rate, 0.5);
  p.correct('a', slot('429', 'GET', 2), 0);
  assert.equal(p.stats('a', slot('429', 'GET', 2), 0).rate, 0.5, 'a late retry corrects the provisional 0');
  p.sweep(101);
  assert.equal(p.size, 1);
  assert.equal(p.stats('a', slot('429', 'GET', 1), 101).count, 0);
  assert.ok(Math.abs(p.stats('b', slot('2xx'), 101).count - 1) < 1e-3, 'b was seen 51 ms ago: kept');
});
