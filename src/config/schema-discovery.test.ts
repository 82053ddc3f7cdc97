import assert from 'node:assert/strict';
import { test } from 'node:test';
import { validateDocument, type ConfigResult } from './load.ts';

const problemsOf = (result: ConfigResult): Array<[string, string]> => (result.ok ? [] : result.problems.map((p) => [p.path, p.message]));

test('discovery: file needs a path, dns a name (and a port for A/AAAA); [[backends]] must then be empty', () => {
  assert.deepEqual(problemsOf(validateDocument({ discovery: { kind: 'file' } }, {})), [['discovery.path', 'required when kind = "file"']]);
  assert.deepEqual(problemsOf(validateDocument({ discovery: { kind: 'dns', record_type: 'AAAA' } }, {})), [
    ['discovery.name', 'required when kind = "dns"'],
    ['discovery.port', 'required when kind = "dns" and record_type = "AAAA"'],
  ]);
  assert.deepEqual(problemsOf(validateDocument({ discovery: { kind: 'dns', name: '_x._tcp.test', record_type: 'SRV' } }, {})), []);
  assert.deepEqual(problemsOf(validateDocument({ discovery: { kind: 'dns', name: 'x.test', port: 80 }, backends: [{ address: 'a:1' }] }, {})), [
    ['backends', 'must be empty with discovery.kind = "dns": the backends come from DNS'],
  ]);
  assert.deepEqual(problemsOf(validateDocument({ discovery: { kind: 'dns', name: 'x', port: 1, min_ttl: '10s', max_ttl: '5s', resolvers: ['127.0.0.1:5353', 'dns.example'] } }, {})), [
    ['discovery.resolvers[1]', 'expected an IP address, optionally with a port ("127.0.0.1:5353", "[::1]:53")'],
    ['discovery.max_ttl', 'must be >= min_ttl'],
  ]);
});

test('tcp mode: only connection-based strategies, and ip_hash by client IP', () => {
  const backends = [{ address: 'a:1' }];
  assert.deepEqual(problemsOf(validateDocument({ backends, proxy: { kind: 'tcp' }, strategy: { algorithm: 'least_connections' } }, {})), []);
  assert.deepEqual(problemsOf(validateDocument({ backends, proxy: { kind: 'tcp' }, strategy: { algorithm: 'adaptive', hash_key: 'header:x-user' } }, {})), [
    ['strategy.algorithm', '"adaptive" needs HTTP responses; with proxy.kind = "tcp" use one of round_robin, weighted_round_robin, least_connections, random, power_of_two, ip_hash'],
    ['strategy.hash_key', 'with proxy.kind = "tcp" there are no headers: use "client_ip"'],
  ]);
  assert.deepEqual(problemsOf(validateDocument({ backends, proxy: { kind: 'tcp' }, http2: { allow_h2c: true } }, {})), [['http2.allow_h2c', 'with proxy.kind = "tcp" there is no HTTP: turn allow_h2c off']]);
  const tls = problemsOf(validateDocument({ backends, proxy: { kind: 'tcp' }, tls: { enabled: true, cert_file: 'c.pem', key_file: 'k.pem' } }, {}));
  assert.ok(tls.some(([path, message]) => path === 'tls.enabled' && message.includes('passed through')), JSON.stringify(tls));
});
