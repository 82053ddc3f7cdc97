import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { test } from 'node:test';
import { createAdminGuard, splitHost } from './admin-guard.ts';

function req(headers: Record<string, string>, local: { address: string; port: number }, method = 'POST'): IncomingMessage {
  return { method, headers, socket: { localAddress: local.address, localPort: local.port } } as unknown as IncomingMessage;
}

test('splitHost: names lower-cased, IPv6 literals keep their brackets, an empty port is none', () => {
  assert.deepEqual(splitHost('LocalHost:9090'), { name: 'localhost', port: '9090' });
  assert.deepEqual(splitHost('[::1]:9090'), { name: '[::1]', port: '9090' });
  assert.deepEqual(splitHost('[::1]'), { name: '[::1]', port: undefined });
  assert.deepEqual(splitHost('localhost:'), { name: 'localhost', port: undefined });
});

test('a wildcard listener is named by the address the connection arrived on, IPv4-mapped or IPv6, not by 0.0.0.0', () => {
  const guard = createAdminGuard({ token: 'x', listenHost: '0.0.0.0', allowedHosts: () => [] });
  const pod = { address: '::ffff:10.1.2.3', port: 9090 };
  assert.equal(guard.misdirected(req({ host: '10.1.2.3:9090' }, pod)), undefined);
  assert.equal(guard.misdirected(req({ host: '10.1.2.3' }, pod)), undefined);
  assert.notEqual(guard.misdirected(req({ host: '10.1.2.3:9091' }, pod)), undefined);
  assert.notEqual(guard.misdirected(req({ host: '0.0.0.0:9090' }, pod)), undefined);
  assert.notEqual(guard.misdirected(req({ host: '10.1.2.4:9090' }, pod)), undefined);
  const v6 = { address: 'fd00::5', port: 9090 };
  assert.equal(guard.misdirected(req({ host: '[fd00::5]:9090' }, v6)), undefined);
  assert.equal(guard.misdirected(req({ host: '[::1]:9090' }, v6)), undefined);
});

test('a named listen host is a name of the listener; allowed_hosts follows the config in service', () => {
  let allowed: readonly string[] = [];
  const guard = createAdminGuard({ token: undefined, listenHost: 'admin.internal', allowedHosts: () => allowed });
  const local = { address: '10.0.0.1', port: 9090 };
  assert.equal(guard.misdirected(req({ host: 'Admin.Internal:9090' }, local)), undefined);
  assert.notEqual(guard.misdirected(req({ host: 'ops.example' }, local)), undefined);
  allowed = ['ops.example'];
  assert.equal(guard.misdirected(req({ host: 'ops.example:1234' }, local)), undefined, 'a reload that adds a name applies');
});

test('the bearer scheme is case-insensitive, the token is compared exactly', () => {
  const guard = createAdminGuard({ token: 's3cret', listenHost: '127.0.0.1', allowedHosts: () => [] });
  const local = { address: '127.0.0.1', port: 9090 };
  for (const ok of ['Bearer s3cret', 'bearer s3cret', 'BEARER  s3cret']) assert.equal(guard.isAuthorised(req({ authorization: ok }, local)), true, ok);
  for (const bad of ['Bearer S3CRET', 'Bearers3cret', 'Basic s3cret', 's3cret', 'Bearer s3cret ', '']) assert.equal(guard.isAuthorised(req({ authorization: bad }, local)), false, bad);
});

test('cross-origin: only state-changing methods with a foreign or opaque Origin', () => {
  const guard = createAdminGuard({ token: undefined, listenHost: '127.0.0.1', allowedHosts: () => [] });
  const local = { address: '127.0.0.1', port: 9090 };
  assert.equal(guard.isCrossOrigin(req({ host: 'localhost:9090', origin: 'http://evil.example' }, local)), true);
  assert.equal(guard.isCrossOrigin(req({ host: 'localhost:9090', origin: 'null' }, local)), true);
  assert.equal(guard.isCrossOrigin(req({ host: 'localhost:9090', origin: 'http://localhost:9090' }, local)), false);
  assert.equal(guard.isCrossOrigin(req({ host: 'localhost:9090', origin: 'http://evil.example' }, local, 'GET')), false);
});
