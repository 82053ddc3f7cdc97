import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createClientKeyFn, parseClientKeySource } from './client-key.ts';
import { fingerprintOf } from './fingerprint.ts';
import { routeOf } from './route.ts';
import { userAgentFamily } from './user-agent.ts';

test('client key: first matching source wins, and the raw token never appears', () => {
  const fn = createClientKeyFn([parseClientKeySource('header:X-Client-Id')!, parseClientKeySource('cookie:session')!, parseClientKeySource('ip_ua')!], 'salt');
  const byHeader = fn({ headers: { 'x-client-id': 'secret-token', cookie: 'session=abc' }, clientIp: '10.0.0.1' });
  const byCookie = fn({ headers: { cookie: 'a=1; session=abc' }, clientIp: '10.0.0.1' });
  const byCookieOtherIp = fn({ headers: { cookie: 'session=abc' }, clientIp: '10.0.0.2' });
  const byIp = fn({ headers: { 'user-agent': 'curl/8' }, clientIp: '10.0.0.1' });
  assert.notEqual(byHeader, byCookie);
  assert.equal(byCookie, byCookieOtherIp);
  assert.notEqual(byIp, byCookie);
  assert.ok(!byHeader.includes('secret'));
  assert.match(byHeader, /^[0-9a-f]{16}$/);
});

test('client key sources are validated', () => {
  assert.equal(parseClientKeySource('header:'), undefined);
  assert.equal(parseClientKeySource('query:x'), undefined);
  assert.deepEqual(parseClientKeySource('ip'), { kind: 'ip' });
});

test('fingerprint: same request same hash; Idempotency-Key and body hash distinguish', () => {
  const a = fingerprintOf('GET', 'h', '/a?x=1', undefined);
  assert.equal(a, fingerprintOf('GET', 'h', '/a?x=1', undefined));
  assert.notEqual(a, fingerprintOf('GET', 'h', '/a?x=2', undefined));
  assert.notEqual(a, fingerprintOf('POST', 'h', '/a?x=1', undefined));
  assert.notEqual(a, fingerprintOf('GET', 'h', '/a?x=1', 'k1'));
  assert.notEqual(a, fingerprintOf('GET', 'h', '/a?x=1', undefined, 'bodyhash'));
});

test('routes fold ids and cap depth', () => {
  assert.equal(routeOf('/api/users/42?x=1'), '/api/users/:id');
  assert.equal(routeOf('/api/orders/3f2b8a9c-1d2e-4f5a-8b7c-0123456789ab'), '/api/orders/:id');
  assert.equal(routeOf('/a/b/c/d/e'), '/a/b/c/*');
  assert.equal(routeOf('/'), '/');
  assert.equal(routeOf('/static/app.js'), '/static/app.js');
});

test('user-agent families', () => {
  assert.equal(userAgentFamily('curl/8.5.0'), 'curl');
  assert.equal(userAgentFamily('python-requests/2.31'), 'python');
  assert.equal(userAgentFamily('okhttp/4.12.0'), 'okhttp');
  assert.equal(userAgentFamily('Go-http-client/1.1'), 'go');
  // Node libraries with different default retry policies are different families
  assert.equal(userAgentFamily('got (https://github.com/sindresorhus/got)'), 'got');
  assert.equal(userAgentFamily('axios/1.7.9'), 'axios');
  assert.equal(userAgentFamily('node'), 'node');
  assert.equal(userAgentFamily('undici'), 'node');
  assert.equal(userAgentFamily('Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/120 Safari/537.36'), 'browser');
  assert.equal(userAgentFamily(undefined), 'none');
  assert.equal(userAgentFamily('something'), 'other');
});
