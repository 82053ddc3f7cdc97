import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseConfigText } from './load.ts';

const BACKEND = '[[backends]]\naddress = "127.0.0.1:9"\n';

function problems(text: string): string[] {
  const result = parseConfigText(BACKEND + text, 'test', {});
  return result.ok ? [] : result.problems.map((p) => `${p.path}: ${p.message}`);
}

test('rate limits: defaults, burst from the rate, and every problem with its key path', () => {
  const result = parseConfigText(`${BACKEND}[[rate_limits]]\nname = "a"\nrate = 2.5\n`, 'test', {});
  assert.ok(result.ok);
  assert.deepEqual(result.config.rateLimits[0], { name: 'a', key: 'client_ip', pathPrefix: '/', rate: 2.5, burst: 3, maxKeys: 100_000, keyTtl: 600_000, shared: false });
  assert.deepEqual(result.config.shared, { keyPrefix: 'sibyl:', syncInterval: 50, timeout: 500, shareModel: true, modelSyncInterval: 5000, failMode: 'open' });
  const found = problems('[[rate_limits]]\nname = "a b"\nrate = 0\nkey = "cookie:x"\n[[rate_limits]]\nname = "c"\nrate = 1\nshared = true\n[[rate_limits]]\nname = "c"\nrate = 1\n[shared]\nfail_mode = "maybe"\n');
  const text = found.join('\n');
  for (const path of ['rate_limits[0].name', 'rate_limits[0].rate', 'rate_limits[0].key', 'rate_limits[2].name', 'shared.fail_mode']) assert.ok(text.includes(path), `${path} in:\n${text}`);
});

test('a shared limit needs [shared] redis_url', () => {
  assert.deepEqual(problems('[[rate_limits]]\nname = "g"\nrate = 1\nshared = true\n'), ['rate_limits[0].shared: needs [shared] redis_url']);
  assert.deepEqual(problems('[[rate_limits]]\nname = "g"\nrate = 1\nshared = true\n[shared]\nredis_url = "redis://127.0.0.1:6379/0"\n'), []);
  assert.match(problems('[shared]\nredis_url = "http://x"\n').join(), /shared\.redis_url/);
});
