import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { isSameBackendSet, parseBackendList } from './backend-list.ts';
import { createFileDiscovery } from './file-discovery.ts';

test('a list or a {backends} document; name defaults to the address, weight to 1', () => {
  const expected = [
    { name: '10.0.0.1:80', address: '10.0.0.1:80', weight: 1 },
    { name: 'b', address: '10.0.0.2:80', weight: 4 },
  ];
  const list = [{ address: '10.0.0.1:80' }, { name: 'b', address: '10.0.0.2:80', weight: 4 }];
  assert.deepEqual(parseBackendList(list), { ok: true, backends: expected });
  assert.deepEqual(parseBackendList({ backends: list }), { ok: true, backends: expected });
});

test('a bad entry is reported with its index and key; duplicates and non-lists are refused', () => {
  assert.deepEqual(parseBackendList([{ address: '10.0.0.1:80' }, { address: 'nope' }]), { ok: false, message: 'backends[1].address: invalid address "nope": expected "host:port" or "[ipv6]:port"' });
  assert.equal(parseBackendList([{ address: 'a:1' }, { address: 'a:1' }]).ok, false);
  assert.equal(parseBackendList({ servers: [] }).ok, false);
  assert.equal(parseBackendList('a:1').ok, false);
});

test('the same set in another order is unchanged; a changed weight or address is a change', () => {
  const a = { name: 'a', address: 'h:1', weight: 1 };
  const b = { name: 'b', address: 'h:2', weight: 1 };
  assert.equal(isSameBackendSet([a, b], [b, a]), true);
  assert.equal(isSameBackendSet([a, b], [a, { ...b, weight: 2 }]), false);
  assert.equal(isSameBackendSet([a, b], [a, { ...b, address: 'h:3' }]), false);
  assert.equal(isSameBackendSet([a, b], [a]), false);
});

test('file discovery reads JSON and TOML; unreadable, invalid and empty files are failures', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'sibyl-discovery-'));
  const signal = new AbortController().signal;
  const json = join(dir, 'b.json');
  await writeFile(json, JSON.stringify([{ name: 'a', address: '127.0.0.1:9001' }]));
  assert.deepEqual(await createFileDiscovery(json).discover(signal), { ok: true, backends: [{ name: 'a', address: '127.0.0.1:9001', weight: 1 }], ttlMs: undefined });
  const toml = join(dir, 'b.toml');
  await writeFile(toml, '[[backends]]\naddress = "127.0.0.1:9002"\nweight = 2\n');
  assert.deepEqual(await createFileDiscovery(toml).discover(signal), { ok: true, backends: [{ name: '127.0.0.1:9002', address: '127.0.0.1:9002', weight: 2 }], ttlMs: undefined });
  await writeFile(json, '[{"address": ');
  assert.equal((await createFileDiscovery(json).discover(signal)).ok, false);
  await writeFile(json, '[]');
  assert.deepEqual(await createFileDiscovery(json).discover(signal), { ok: false, reason: 'empty', message: 'no backend found' });
  const missing = await createFileDiscovery(join(dir, 'missing.json')).discover(signal);
  assert.deepEqual(missing, { ok: false, reason: 'failed', message: 'ENOENT' });
});
