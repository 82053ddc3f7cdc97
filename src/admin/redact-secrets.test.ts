import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseConfigText } from '../config/load.ts';
import { redactSecrets } from './admin-server.ts';

test('/api/config never shows the Redis password', () => {
  const result = parseConfigText('[[backends]]\naddress = "127.0.0.1:9"\n[shared]\nredis_url = "redis://sibyl:s3cret@10.0.0.5:6379/2"\n', 'test', {});
  assert.ok(result.ok);
  const shown = JSON.stringify(redactSecrets(result.config));
  assert.ok(!shown.includes('s3cret'));
  assert.ok(shown.includes('redis://sibyl:***@10.0.0.5:6379/2'));
});
