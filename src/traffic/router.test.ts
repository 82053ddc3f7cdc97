import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createRouter, hostOf, parseCookies, pathOf, type RouteSpec } from './router.ts';

const rule = (r: Partial<RouteSpec>): RouteSpec => ({ headers: [], cookies: [], ...r });
const req = (r: { method?: string; host?: string; url?: string; headers?: Record<string, string> }) => ({ method: r.method ?? 'GET', host: r.host ?? 'h', url: r.url ?? '/', headers: r.headers ?? {} });

test('the first matching rule wins; no match goes to the default pool', () => {
  const router = createRouter([rule({ name: 'one', pathPrefix: '/a', pool: 'p1' }), rule({ name: 'two', pathPrefix: '/', pool: 'p2' })], 'default');
  assert.deepEqual(router.choose(req({ url: '/a/b' }), 0), { route: 'one', pool: 'p1' });
  assert.deepEqual(router.choose(req({ url: '/b' }), 0), { route: 'two', pool: 'p2' });
  assert.deepEqual(createRouter([rule({ pathPrefix: '/a', pool: 'p' })], 'default').choose(req({ url: '/b' }), 0), { route: 'default', pool: 'default' });
  assert.deepEqual(createRouter([rule({ pathPrefix: '/a', pool: 'p' })], 'd').routeNames, ['route-0']);
});

test('every condition of a rule must match', () => {
  const router = createRouter([rule({ host: '*.ex.com', methods: ['POST'], headers: [{ name: 'X-A', value: '1' }], cookies: [{ name: 'c', value: 'v' }], pool: 'p' })], 'd');
  const full = { method: 'POST', host: 'api.ex.com:80', url: '/', headers: { 'x-a': '1', cookie: 'c=v' } };
  assert.equal(router.choose(full, 0).pool, 'p');
  assert.equal(router.choose({ ...full, method: 'GET' }, 0).pool, 'd');
  assert.equal(router.choose({ ...full, host: 'ex.com' }, 0).pool, 'd', '*.ex.com needs a subdomain');
  assert.equal(router.choose({ ...full, headers: { 'x-a': '1' } }, 0).pool, 'd');
  assert.equal(router.choose({ ...full, headers: { cookie: 'c=v' } }, 0).pool, 'd');
});

test('a split picks legs by cumulative weight', () => {
  const router = createRouter([rule({ split: [{ pool: 'a', weight: 1 }, { pool: 'b', weight: 0 }, { pool: 'c', weight: 3 }] })], 'd');
  assert.equal(router.choose(req({}), 0).pool, 'a');
  assert.equal(router.choose(req({}), 0.2499).pool, 'a');
  assert.equal(router.choose(req({}), 0.25).pool, 'c', 'a zero-weight leg is never chosen');
  assert.equal(router.choose(req({}), 0.9999).pool, 'c');
  let toA = 0;
  for (let i = 0; i < 10_000; i++) if (router.choose(req({}), i / 10_000).pool === 'a') toA++;
  assert.equal(toA, 2500);
});

test('hosts, paths and cookies are read as a proxy must', () => {
  assert.equal(hostOf('Example.COM:8080'), 'example.com');
  assert.equal(hostOf('[::1]:80'), '[::1]');
  assert.equal(pathOf('/a/b?x=1'), '/a/b');
  assert.equal(pathOf('http://h:1/p?q'), '/p');
  assert.equal(pathOf('http://h'), '/');
  assert.deepEqual([...parseCookies('a=1; b = 2;c=x=y; bad; a=3')], [['a', '1'], ['b', '2'], ['c', 'x=y']]);
  assert.deepEqual([...parseCookies(undefined)], []);
});
