#!/usr/bin/env node
// The `sibyl` executable. Sibyl's sources are TypeScript that Node >= 24 runs directly;
// `npx sibyl` puts the pinned Node 24 (a devDependency) first on PATH.
const major = Number(process.versions.node.split('.')[0]);
if (major < 24) {
  process.stderr.write(`sibyl needs Node.js >= 24 (this is ${process.version}). From the repository, run it as \`npx sibyl\` after \`npm ci\`.\n`);
  process.exit(1);
}
await import('../src/main.ts');
