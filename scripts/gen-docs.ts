// Writes the generated docs. `npm run docs`; docs.test.ts fails when a committed file is stale.
import { writeFile } from 'node:fs/promises';
import { renderConfigDocs } from '../src/config/docs.ts';

const target = new URL('../docs/configuration.md', import.meta.url);
await writeFile(target, renderConfigDocs());
process.stdout.write(`wrote ${target.pathname}\n`);
