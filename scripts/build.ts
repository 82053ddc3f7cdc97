// Builds the library entry (src/lib.ts) to plain JavaScript with type declarations in dist/, so
// that applications on any supported Node can `import { RetryPredictor } from 'sibyl'`.
// Usage: node scripts/build.ts [outDir]
import { execFileSync } from 'node:child_process';
import { cpSync } from 'node:fs';
import { resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const outDir = resolve(process.argv[2] ?? resolve(root, 'dist'));
execFileSync(resolve(root, 'node_modules/.bin/tsc'), ['-p', resolve(root, 'tsconfig.build.json'), '--outDir', outDir], { stdio: 'inherit' });
// the shipped prior sits where src/model/model-store.ts looks for it, relative to the module
cpSync(resolve(root, 'models'), resolve(outDir, 'models'), { recursive: true });
process.stdout.write(`built ${outDir}\n`);
