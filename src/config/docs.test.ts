import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { renderConfigDocs } from './docs.ts';
import { envVars } from './env.ts';

test('docs/configuration.md is up to date with the schema', async () => {
  const committed = await readFile(new URL('../../docs/configuration.md', import.meta.url), 'utf8').catch(() => '');
  assert.ok(committed === renderConfigDocs(), 'docs/configuration.md is stale or missing: run `npm run docs` and commit the result');
});

test('the docs have a table per section, a row per key with a meaning, and the env table', () => {
  const text = renderConfigDocs();
  for (const heading of ['[runtime]', '[proxy]', '[strategy]', '[[backends]]', '[health]', '[outlier_detection]', '[metrics]', '[admin]', '[log]']) {
    assert.ok(text.includes(`## \`${heading}\``), heading);
  }
  const rows = text.split('\n').filter((line) => line.startsWith('| `'));
  assert.ok(rows.length > 60, `${rows.length} rows`);
  for (const row of rows) assert.doesNotMatch(row, /\| *\|$/, `row without a meaning: ${row}`);
  assert.match(text, /\| `connect_timeout` \| duration \| `"5s"` \| .+502/);
  assert.match(text, /\| `address` \| "host:port" \| required \|/);
  assert.match(text, /\| `consecutive_5xx` \| integer, >= 1 \| `5` \|/);
  for (const v of envVars) assert.ok(text.includes(`| \`${v.name}\` | \`${v.key}\` |`), v.name);
  assert.match(text, /Do not edit/);
});
