import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatProblems, loadConfigFile, parseConfigText, type ConfigResult } from './load.ts';

const examplesDir = new URL('../../examples/', import.meta.url);
// the seed documents sit beside the checkout (../shared/seeds); SIBYL_SEEDS_DIR points elsewhere
const seedPath = new URL('004_cb89eee9da82e90b.txt', process.env.SIBYL_SEEDS_DIR === undefined ? new URL('../../../shared/seeds/', import.meta.url) : `file://${process.env.SIBYL_SEEDS_DIR.replace(/\/?$/, '/')}`);

function problemsOf(result: ConfigResult): Array<[string, string]> {
  assert.equal(result.ok, false, 'expected the config to be rejected');
  return result.ok ? [] : result.problems.map((p) => [p.path, p.message]);
}

test('examples/production.toml is the seed\'s production.toml, byte for byte', async (t) => {
  const seed = await readFile(seedPath, 'utf8').catch(() => undefined);
  if (seed === undefined) return t.skip(`seed file not present at ${seedPath.pathname}: the seed comparison needs the shared seeds beside the checkout`);
  const start = seed.indexOf('```toml\n', seed.indexOf('Example `production.toml`:')) + '```toml\n'.length;
  const block = seed.slice(start, seed.indexOf('```', start));
  assert.equal(await readFile(new URL('production.toml', examplesDir), 'utf8'), block);
});

test('the seed\'s production.toml validates unchanged, with its meaning', async () => {
  const result = await loadConfigFile(new URL('production.toml', examplesDir).pathname, {});
  if (!result.ok) assert.fail(formatProblems('production.toml', result.problems));
  const c = result.config;
  assert.equal(c.strategy.algorithm, 'adaptive');
  assert.equal(c.proxy.maxConnections, 100_000);
  assert.equal(c.runtime.drainTimeoutMillis, 30_000);
  assert.equal(c.runtime.configWatchIntervalMillis, 5_000);
  assert.deepEqual(
    c.backends.map((b) => [b.id, b.name, b.address, b.weight]),
    [
      [0, 'backend-1', '10.0.1.10:8080', 10],
      [1, 'backend-2', '10.0.1.11:8080', 10],
      [2, 'backend-3', '10.0.1.12:8080', 10],
    ],
  );
  assert.equal(c.health.interval, 10_000);
  assert.equal(c.health.timeout, 3_000);
  assert.equal(c.metrics.interval, 30_000);
});

test('every file in examples/ validates', async () => {
  const files = (await readdir(examplesDir)).filter((f) => f.endsWith('.toml'));
  assert.ok(files.length >= 4, `only ${files.join(', ')}`);
  for (const file of files) {
    const result = await loadConfigFile(new URL(file, examplesDir).pathname, {});
    if (!result.ok) assert.fail(formatProblems(file, result.problems));
  }
});

const manyMistakes = `
[proxy]
listen_adress = "0.0.0.0:80"
connect_timeout = "5 seconds"

[[backends]]
name = "api"
address = "10.0.0.1"

[[backends]]
name = "api"
address = "10.0.0.2:80"
weight = 20000

[health]
interval = "3s"
timeout = "3s"
`;

test('a file with several mistakes reports all of them at once, with paths and a suggestion', () => {
  const problems = problemsOf(parseConfigText(manyMistakes, 'bad.toml', {}));
  assert.deepEqual(new Set(problems), new Set([
    ['proxy.listen_adress', 'unknown key; did you mean `listen_address`?'],
    ['proxy.connect_timeout', 'invalid duration "5 seconds": expected a duration like "10s", "500ms", "2m" or "1h"'],
    ['backends[0].address', 'invalid address "10.0.0.1": expected "host:port" or "[ipv6]:port"'],
    ['backends[1].weight', 'must be <= 10000'],
    ['backends[1].name', 'duplicate name "api" (also backends[0])'],
    ['health.timeout', 'must be less than interval'],
  ]));
  assert.equal(problems.length, 6);
});

test('a TOML syntax error reports its line and column', () => {
  const result = parseConfigText('[proxy]\nlisten_address = "0.0.0.0:80"\nmax_connections = = 5\n', 'sibyl.toml', {});
  assert.equal(result.ok, false);
  if (result.ok) return;
  const [problem] = result.problems;
  assert.equal(problem?.line, 3);
  assert.equal(problem?.column, 19);
  assert.match(problem?.message ?? '', /^invalid TOML: /);
  assert.match(formatProblems('sibyl.toml', result.problems), /^sibyl\.toml:3:19: invalid TOML: [^\n]+$/);
});

test('a repeated TOML table is a syntax error too', () => {
  const result = parseConfigText('[proxy]\n[proxy]\n', 'sibyl.toml', {});
  assert.equal(result.ok ? undefined : result.problems[0]?.line, 2);
});

test('formatProblems: one line per problem, position and path only when known', () => {
  const text = formatProblems('sibyl.toml', [
    { path: 'proxy.max_connections', message: 'must be >= 1' },
    { path: '', message: 'invalid TOML: x', line: 4, column: 2 },
    { path: '', message: 'cannot read the config file: nope' },
  ]);
  assert.equal(text, ['sibyl.toml: proxy.max_connections: must be >= 1', 'sibyl.toml:4:2: invalid TOML: x', 'sibyl.toml: cannot read the config file: nope'].join('\n'));
});

test('loadConfigFile: an unreadable file is a problem, not an exception', async () => {
  const result = await loadConfigFile('/nonexistent/sibyl.toml', {});
  const [[path, message] = ['', '']] = problemsOf(result);
  assert.equal(path, '');
  assert.match(message, /^cannot read the config file: ENOENT/);
});

test('loadConfigFile reads and validates a file, env applied on top', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'sibyl-config-'));
  try {
    const file = join(dir, 'sibyl.toml');
    await writeFile(file, '[[backends]]\naddress = "127.0.0.1:9001"\n');
    const result = await loadConfigFile(file, { SIBYL_STRATEGY: 'random' });
    if (!result.ok) assert.fail(formatProblems(file, result.problems));
    assert.equal(result.config.strategy.algorithm, 'random');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('TOML values of the wrong kind are reported, not crashed on', () => {
  const text = '[proxy]\nconnect_timeout = 1979-05-27\nmax_connections = [1]\n[[backends]]\naddress = "a:1"\n';
  assert.deepEqual(problemsOf(parseConfigText(text, 's', {})), [
    ['proxy.max_connections', 'expected an integer, got an array'],
    ['proxy.connect_timeout', 'expected a duration like "10s", "500ms", "2m" or "1h"'],
  ]);
});
