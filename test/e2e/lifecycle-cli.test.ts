// The `sibyl` command line: `validate`, `serve --validate`, and `serve` configured by the
// environment alone.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';
import { request } from 'undici';
import { startTestBackend } from '../helpers/backends.ts';
import { backendViews } from '../helpers/sibyl-control.ts';
import { runSibyl, startServing } from '../helpers/sibyl-cli.ts';
import { writeTempConfig } from '../helpers/sibyl-process.ts';

// Only ever validated: its backends are on 10.0.1.x and its listener on 0.0.0.0:8080.
const PRODUCTION_EXAMPLE = new URL('../../examples/production.toml', import.meta.url).pathname;

const BROKEN = `[proxy]
listen_adress = "127.0.0.1:0"
max_connections = -5

[strategy]
algorithm = "fastest"

[health]
interval = "100ms"
timeout = "1s"

[[backends]]
address = "nope"

[[backends]]
name = "x"
address = "127.0.0.1:9"
weight = 20000
`;

/** Each problem of BROKEN: its key path and a word of its message. */
const BROKEN_PROBLEMS: readonly [string, RegExp][] = [
  ['proxy.listen_adress', /unknown key.*listen_address/],
  ['proxy.max_connections', />= 1/],
  ['strategy.algorithm', /round_robin/],
  ['backends[0].address', /nope/],
  ['backends[1].weight', /10000/],
  ['health.timeout', /interval/],
];

function assertEveryProblemListed(stderr: string, file: string): void {
  const lines = stderr.trim().split('\n');
  for (const [path, message] of BROKEN_PROBLEMS) {
    const line = lines.find((l) => l.includes(` ${path}: `));
    assert.ok(line !== undefined, `no line for ${path} in:\n${stderr}`);
    assert.ok(line.startsWith(file), `the line names the file: ${line}`);
    assert.match(line, message);
  }
  assert.match(stderr, new RegExp(`${BROKEN_PROBLEMS.length} problem\\(s\\)`));
}

test('sibyl validate exits 0 on examples/production.toml', async () => {
  const result = await runSibyl(['validate', '--config', PRODUCTION_EXAMPLE]);
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /valid \(3 backend\(s\), strategy adaptive\)/);
  assert.equal(result.stderr, '');
});

test('sibyl validate exits 1 and prints every problem of a broken file with its key path', async () => {
  const file = await writeTempConfig(BROKEN);
  const result = await runSibyl(['validate', '--config', file]);
  assert.equal(result.code, 1);
  assert.equal(result.stdout, '');
  assertEveryProblemListed(result.stderr, file);
});

test('sibyl serve --validate checks the config and exits without serving', async () => {
  // production.toml with loopback addresses: were --validate ignored, nothing would reach 10.0.1.x
  const production = await readFile(PRODUCTION_EXAMPLE, 'utf8');
  const loopback = production.replaceAll('10.0.1.', '127.0.0.').replace('"0.0.0.0:8080"', '"127.0.0.1:0"');
  assert.notEqual(loopback, production);
  const valid = await runSibyl(['serve', '--validate', '--config', await writeTempConfig(loopback)], { env: { SIBYL_ADMIN_LISTEN_ADDRESS: '127.0.0.1:0' }, timeoutMs: 10_000 });
  assert.equal(valid.code, 0, `exits by itself (null = still running at the timeout): ${valid.stderr}`);
  assert.match(valid.stdout, /valid/);
  assert.doesNotMatch(valid.stdout, /sibyl is serving/);

  const file = await writeTempConfig(BROKEN);
  const broken = await runSibyl(['serve', '--validate', '--config', file]);
  assert.equal(broken.code, 1);
  assertEveryProblemListed(broken.stderr, file);
});

test('sibyl serve without a config file is configured by SIBYL_* variables alone', async (t) => {
  const backend = await startTestBackend('env-backend');
  t.after(() => backend.close());
  const sibyl = await startServing(['serve'], {
    env: { SIBYL_BACKEND_ADDRESSES: backend.address, SIBYL_LISTEN_ADDRESS: '127.0.0.1:0', SIBYL_ADMIN_LISTEN_ADDRESS: '127.0.0.1:0' },
  });
  t.after(() => sibyl.stop('SIGKILL'));

  const res = await request(`${sibyl.proxyUrl}/from-env`);
  assert.equal(res.statusCode, 200);
  assert.equal(await res.body.text(), 'env-backend:GET:/from-env:0');
  // a backend from SIBYL_BACKEND_ADDRESSES is named after its address
  assert.deepEqual((await backendViews(sibyl.adminUrl)).map((b) => b.name), [backend.address]);
  assert.equal(await sibyl.stop('SIGTERM'), 0);
});

test('sibyl serve without a config file or SIBYL_BACKEND_ADDRESSES exits 1 and starts nothing', async () => {
  const result = await runSibyl(['serve'], { env: { SIBYL_LISTEN_ADDRESS: '127.0.0.1:0', SIBYL_ADMIN_LISTEN_ADDRESS: '127.0.0.1:0', SIBYL_MAX_CONNECTIONS: 'many' } });
  assert.equal(result.code, 1);
  assert.match(result.stderr, /backend/);
  assert.match(result.stderr, /SIBYL_MAX_CONNECTIONS/, 'a bad variable is named');
  assert.match(result.stderr, /nothing was started/);
});
