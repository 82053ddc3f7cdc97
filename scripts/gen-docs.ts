// Writes the generated docs. `npm run docs`; the docs tests fail when a committed file is stale.
import { writeFile } from 'node:fs/promises';
import { renderConfigDocs } from '../src/config/docs.ts';
import { renderMetricsDocs } from '../src/metrics/docs.ts';

for (const [file, text] of [
  ['configuration.md', renderConfigDocs()],
  ['metrics.md', await renderMetricsDocs()],
] as const) {
  const target = new URL(`../docs/${file}`, import.meta.url);
  await writeFile(target, text);
  process.stdout.write(`wrote ${target.pathname}\n`);
}
