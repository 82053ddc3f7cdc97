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

test('each key says whether a reload applies it or it needs a restart, from the schema', () => {
  const text = renderConfigDocs();
  const reloadOf = (section: string, key: string): string | undefined => {
    const body = text.slice(text.indexOf(`## \`${section}\``));
    return new RegExp(`\\| \`${key}\` \\|[^|]*\\|[^|]*\\| (applies|needs restart) \\|`).exec(body)?.[1];
  };
  assert.equal(reloadOf('[proxy]', 'listen_address'), 'needs restart');
  assert.equal(reloadOf('[admin]', 'token'), 'needs restart', 'a table marked as a whole marks each key');
  assert.equal(reloadOf('[health]', 'unhealthy_threshold'), 'applies');
  assert.equal(reloadOf('[load_shedding]', 'max_limit'), 'applies');
  assert.equal(reloadOf('[runtime]', 'health_cap'), 'applies');
  assert.equal(reloadOf('[runtime]', 'config_watch_interval_millis'), 'applies');
  assert.match(text, /\| `metrics_cap` \|.*Alias of `access_log_buffer`/);
  assert.match(text, /\| `accept_timeout_millis` \|.*Alias of `shutdown_timeout_millis`/);
  const rows = text.split('\n').filter((line) => line.startsWith('| `') && !line.startsWith('| `SIBYL_'));
  for (const row of rows) assert.match(row, /\| (applies|needs restart) \|/, row);
});
