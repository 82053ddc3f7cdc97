// Flags with the real binary: a route conditioned on a flag (segment or sticky percentage), and a
// flag that switches Sibyl's retry-aware routing on only for its segment.
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { request } from 'undici';
import { backendsToml, startTestBackend, type TestBackend } from '../helpers/backends.ts';
import { testConfig } from '../helpers/sibyl-control.ts';
import { startSibyl } from '../helpers/sibyl-process.ts';
import { poolToml } from '../helpers/traffic.ts';

async function backends(t: TestContext, names: string[]): Promise<TestBackend[]> {
  const started = await Promise.all(names.map((n) => startTestBackend(n)));
  t.after(() => Promise.all(started.map((b) => b.close())));
  return started;
}

async function get(proxyUrl: string, path: string, headers: Record<string, string>): Promise<{ status: number; servedBy: string }> {
  const res = await request(`${proxyUrl}${path}`, { headers });
  await res.body.text();
  return { status: res.statusCode, servedBy: String(res.headers['x-served-by']) };
}

test('a route on a flag serves its segment and its sticky percentage from another pool', async (t) => {
  const [a, b] = (await backends(t, ['a', 'b'])) as [TestBackend, TestBackend];
  const sibyl = await startSibyl(
    testConfig(`[health]\nenabled = false\n${backendsToml([a])}\n${poolToml('v2', [b])}\n[[flags]]\nname = "new-checkout"\npercent = 30\nkey = "header:x-user"\nsegments = [{ cookie = "beta", value = "1" }]\n[[routes]]\nflag = "new-checkout"\npool = "v2"\n`),
  );
  t.after(() => sibyl.stop());
  assert.equal((await get(sibyl.proxyUrl, '/', { cookie: 'beta=1', 'x-user': 'anyone' })).servedBy, 'b', 'the segment');
  const firstSeen = new Map<string, string>();
  for (let i = 0; i < 200; i++) firstSeen.set(`u${i}`, (await get(sibyl.proxyUrl, '/', { 'x-user': `u${i}` })).servedBy);
  for (let i = 0; i < 50; i++) assert.equal((await get(sibyl.proxyUrl, '/', { 'x-user': `u${i}` })).servedBy, firstSeen.get(`u${i}`), 'sticky per user');
  const on = [...firstSeen.values()].filter((s) => s === 'b').length;
  // 30 % of 200: 60 expected, binomial sd 6.5
  assert.ok(on >= 35 && on <= 85, `${on} of 200 users have the flag on`);
});

test('a flag switches retry-aware routing on for its segment only', async (t) => {
  const bad = await startTestBackend('bad', (_req, res) => res.writeHead(503, { 'x-served-by': 'bad' }).end('no'));
  const good = await startTestBackend('good');
  t.after(() => Promise.all([bad.close(), good.close()]));
  const sibyl = await startSibyl(
    testConfig(
      `[health]\nenabled = false\n[outlier_detection]\nenabled = false\n[retry]\nenabled = false\n[strategy]\nalgorithm = "ip_hash"\nhash_key = "header:x-user"\n${backendsToml([bad, good])}\n` +
        `[[flags]]\nname = "aware"\nfeature = "retry_aware_routing"\nsegments = [{ header = "x-aware", value = "1" }]\n`,
    ),
  );
  t.after(() => sibyl.stop());
  const pinned: string[] = [];
  for (let i = 0; i < 40 && pinned.length < 4; i++) if ((await get(sibyl.proxyUrl, `/probe/${i}`, { 'x-user': `user-${i}` })).servedBy === 'bad') pinned.push(`user-${i}`);
  assert.ok(pinned.length >= 3, `users pinned to bad: ${pinned.length}`);
  for (const user of pinned) {
    for (const isAware of [false, true]) {
      const headers: Record<string, string> = { 'x-user': user, 'x-client-id': user, ...(isAware ? { 'x-aware': '1' } : {}) };
      const path = `/order/${user}/${isAware}`;
      assert.equal((await get(sibyl.proxyUrl, path, headers)).servedBy, 'bad');
      const retry = await get(sibyl.proxyUrl, path, headers);
      assert.equal(retry.servedBy, isAware ? 'good' : 'bad', isAware ? 'flag on: the retry avoids the failed backend' : 'flag off: the retry follows the sticky strategy back');
    }
  }
});
