import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';
import { renderMetricsDocs } from './docs.ts';

test('docs/metrics.md is up to date with the metric catalogue', async () => {
  const committed = await readFile(new URL('../../docs/metrics.md', import.meta.url), 'utf8').catch(() => '');
  assert.ok(committed === (await renderMetricsDocs()), 'docs/metrics.md is stale or missing: run `npm run docs` and commit the result');
});

test('every metric follows sibyl_<subsystem>_<name>_<unit>, counters end in _total', async () => {
  const text = await renderMetricsDocs();
  const rows = text.split('\n').filter((l) => l.startsWith('| `sibyl_'));
  assert.ok(rows.length >= 20);
  for (const row of rows) {
    const [, name, type] = /^\| `([^`]+)` \| (\w+)/.exec(row) ?? [];
    assert.match(name ?? '', /^sibyl_[a-z]+_[a-z0-9_]+$/);
    if (type === 'counter') assert.match(name ?? '', /_total$/);
  }
});
