import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createFlag } from './flags.ts';
import { createRouter, parseCookies } from './router.ts';

const none = () => new Map<string, string>();

test('a percentage flag is on for that share of keys (within 1 point over 100k), stickily', () => {
  const flag = createFlag({ name: 'f', percent: 5, key: 'header:x-user', segments: [] });
  let on = 0;
  for (let i = 0; i < 100_000; i++) if (flag.isOn({ headers: { 'x-user': `u${i}` } }, none)) on++;
  assert.ok(Math.abs(on / 1000 - 5) <= 1, `${on / 1000} % on`);
  const r = { headers: { 'x-user': 'u7' } };
  assert.equal(flag.isOn(r, none), flag.isOn(r, none));
  assert.equal(createFlag({ name: 'f', percent: 0, key: 'client_ip', segments: [] }).isOn({ headers: {}, clientIp: '1.2.3.4' }, none), false);
  assert.equal(createFlag({ name: 'f', percent: 100, key: 'client_ip', segments: [] }).isOn({ headers: {} }, none), true);
});

test('segments turn a flag on whatever the percentage; a missing key falls back to the client IP', () => {
  const flag = createFlag({ name: 'f', percent: 0, key: 'cookie:uid', segments: [{ header: 'x-beta', value: '1' }, { cookie: 'tier', value: 'gold' }] });
  assert.equal(flag.isOn({ headers: { 'x-beta': '1' } }, none), true);
  assert.equal(flag.isOn({ headers: { 'x-beta': '2' } }, none), false);
  assert.equal(flag.isOn({ headers: {} }, () => parseCookies('tier=gold')), true);
  const byIp = createFlag({ name: 'g', percent: 50, key: 'header:x-user', segments: [] });
  const viaIp = byIp.isOn({ headers: {}, clientIp: '10.0.0.1' }, none);
  assert.equal(byIp.isOn({ headers: {}, clientIp: '10.0.0.1' }, none), viaIp);
});

test('a route with a flag matches only when the flag is on', () => {
  const beta = createFlag({ name: 'beta', percent: 0, key: 'client_ip', segments: [{ header: 'x-beta', value: '1' }] });
  const router = createRouter([{ headers: [], cookies: [], flag: 'beta', pool: 'v2' }], 'default', new Map([['beta', beta]]));
  const req = { method: 'GET', host: 'h', url: '/' };
  assert.equal(router.choose({ ...req, headers: { 'x-beta': '1' } }, 0).pool, 'v2');
  assert.equal(router.choose({ ...req, headers: {} }, 0).pool, 'default');
  assert.equal(createRouter([{ headers: [], cookies: [], flag: 'gone', pool: 'v2' }], 'default').choose({ ...req, headers: {} }, 0).pool, 'default');
});
