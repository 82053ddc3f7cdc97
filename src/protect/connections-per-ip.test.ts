import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConnectionsPerIp } from './connections-per-ip.ts';

test('each IP may hold at most max connections; a closed one frees its slot; idle IPs are forgotten', () => {
  const c = new ConnectionsPerIp();
  assert.deepEqual([c.tryOpen('a', 2), c.tryOpen('a', 2), c.tryOpen('a', 2)], [true, true, false]);
  assert.equal(c.tryOpen('b', 2), true, 'another IP is not affected');
  c.close('a');
  assert.equal(c.tryOpen('a', 2), true);
  c.close('a');
  c.close('a');
  c.close('b');
  assert.equal(c.ipCount, 0);
});
