import assert from 'node:assert/strict';
import { test } from 'node:test';
import { discoverySchema } from '../config/schema-discovery.ts';
import { startDnsServer } from '../../test/helpers/dns-server.ts';
import { createDnsDiscovery } from './dns-discovery.ts';

const config = (doc: Record<string, unknown>) => discoverySchema.parse({ kind: 'dns', timeout: '1s', ...doc });

test('A records become backends on the configured port, with the answer\'s TTL', async (t) => {
  const dns = await startDnsServer();
  t.after(() => dns.close());
  dns.zone.a.set('api.test', ['127.0.0.2', '127.0.0.1']);
  dns.ttlSeconds = 7;
  const d = createDnsDiscovery(config({ name: 'api.test', port: 9000, weight: 3, resolvers: [dns.address] }));
  const result = await d.discover(new AbortController().signal);
  assert.ok(result.ok, JSON.stringify(result));
  assert.deepEqual(result.backends.map((b) => [b.name, b.address, b.weight]).sort(), [
    ['127.0.0.1:9000', '127.0.0.1:9000', 3],
    ['127.0.0.2:9000', '127.0.0.2:9000', 3],
  ]);
  assert.equal(result.ttlMs, 7000);
});

test('AAAA records are bracketed', async (t) => {
  const dns = await startDnsServer();
  t.after(() => dns.close());
  dns.zone.aaaa.set('v6.test', ['::1']);
  const result = await createDnsDiscovery(config({ name: 'v6.test', recordType: 'AAAA', port: 80, resolvers: [dns.address] })).discover(new AbortController().signal);
  assert.ok(result.ok);
  assert.deepEqual(result.backends.map((b) => b.address), ['[::1]:80']);
});

test('SRV: the lowest priority only, ports and weights from the records, targets resolved', async (t) => {
  const dns = await startDnsServer();
  t.after(() => dns.close());
  dns.zone.srv.set('_svc._tcp.test', [
    { priority: 10, weight: 5, port: 9001, target: 'one.test' },
    { priority: 10, weight: 0, port: 9002, target: 'two.test' },
    { priority: 20, weight: 1, port: 9003, target: 'backup.test' },
  ]);
  dns.zone.a.set('one.test', ['127.0.0.1']);
  dns.zone.a.set('two.test', ['127.0.0.1']);
  dns.zone.a.set('backup.test', ['127.0.0.1']);
  const result = await createDnsDiscovery(config({ name: '_svc._tcp.test', recordType: 'SRV', resolvers: [dns.address] })).discover(new AbortController().signal);
  assert.ok(result.ok, JSON.stringify(result));
  assert.deepEqual(result.backends.map((b) => [b.address, b.weight]).sort(), [
    ['127.0.0.1:9001', 5],
    ['127.0.0.1:9002', 1],
  ]);
  assert.equal(result.ttlMs, 1000);
});

test('no record, an unknown name and a failing server are failures, never an empty set', async (t) => {
  const dns = await startDnsServer();
  t.after(() => dns.close());
  dns.zone.a.set('empty.test', []);
  const discover = (name: string) => createDnsDiscovery(config({ name, port: 1, resolvers: [dns.address] })).discover(new AbortController().signal);
  const empty = await discover('empty.test');
  assert.equal(empty.ok, false);
  assert.equal(!empty.ok && empty.reason, 'empty');
  const unknown = await discover('nope.test');
  assert.equal(!unknown.ok && unknown.reason, 'empty');
  dns.isFailing = true;
  dns.zone.a.set('api.test', ['127.0.0.1']);
  const broken = await discover('api.test');
  assert.equal(!broken.ok && broken.reason, 'failed');
  assert.match(!broken.ok ? broken.message : '', /SERVFAIL|ESERVFAIL/);
});
