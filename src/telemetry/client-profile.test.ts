import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ClientProfiles, responseClassOf } from './client-profile.ts';

test('a client that retries its 503s gets a high 5xx rate and a low 2xx rate', () => {
  const p = new ClientProfiles({ halfLifeMs: 600_000, maxClients: 10 });
  for (let i = 0; i < 9; i++) p.observe('c', '5xx', 1, i);
  for (let i = 0; i < 9; i++) p.observe('c', '2xx', 0, i);
  const s = p.stats('c', '5xx', 10);
  assert.ok(Math.abs(s.rate - 0.9) < 0.01, String(s.rate)); // 9 / (9 + 1)
  assert.ok(Math.abs(s.count - 9) < 0.01);
  assert.equal(p.stats('c', '2xx', 10).rate, 0);
  assert.deepEqual(p.stats('unknown', '5xx', 10), { rate: 0, count: 0 });
});

test('history decays with the half-life', () => {
  const p = new ClientProfiles({ halfLifeMs: 1000, maxClients: 10 });
  p.observe('c', '429', 1, 0);
  p.observe('c', '429', 1, 0);
  assert.ok(Math.abs(p.stats('c', '429', 1000).count - 1) < 1e-9);
});

test('bounded: the least recently seen client is evicted', () => {
  const p = new ClientProfiles({ halfLifeMs: 1000, maxClients: 2 });
  p.observe('a', '2xx', 0, 0);
  p.observe('b', '2xx', 0, 0);
  p.observe('a', '2xx', 0, 1);
  p.observe('c', '2xx', 0, 2);
  assert.equal(p.size, 2);
  assert.equal(p.stats('b', '2xx', 3).count, 0);
  assert.ok(p.stats('a', '2xx', 3).count > 0);
});

test('response classes', () => {
  assert.equal(responseClassOf(429, false), '429');
  assert.equal(responseClassOf(503, false), '5xx');
  assert.equal(responseClassOf(502, true), 'error');
  assert.equal(responseClassOf(204, false), '2xx');
});
