import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfigFromEnv, parseConfigText, type ConfigResult } from './load.ts';
import { applyEnvOverrides, envVars } from './env.ts';

const file = `
[proxy]
listen_address = "0.0.0.0:8080"
max_connections = 500

[[backends]]
name = "from-file"
address = "10.0.0.1:80"
weight = 5
`;

function configOf(result: ConfigResult) {
  if (!result.ok) assert.fail(`expected a valid config, got ${JSON.stringify(result.problems)}`);
  return result.config;
}

function problemsOf(result: ConfigResult): Array<[string, string]> {
  assert.equal(result.ok, false, 'expected the config to be rejected');
  return result.ok ? [] : result.problems.map((p) => [p.path, p.message]);
}

test('every documented variable overrides its key on top of the file', () => {
  const c = configOf(
    parseConfigText(file, 'f.toml', {
      SIBYL_LISTEN_ADDRESS: '127.0.0.1:7000',
      SIBYL_STRATEGY: 'least_connections',
      SIBYL_BACKEND_ADDRESSES: '10.0.1.10:8080, 10.0.1.11:8080',
      SIBYL_MAX_CONNECTIONS: '250',
      SIBYL_LOG_LEVEL: 'debug',
      SIBYL_ADMIN_LISTEN_ADDRESS: '0.0.0.0:9090',
      SIBYL_ADMIN_TOKEN: 'from-env',
    }),
  );
  assert.equal(c.proxy.listenAddress, '127.0.0.1:7000');
  assert.equal(c.strategy.algorithm, 'least_connections');
  assert.deepEqual(c.backends, [
    { address: '10.0.1.10:8080', weight: 1, name: '10.0.1.10:8080' },
    { address: '10.0.1.11:8080', weight: 1, name: '10.0.1.11:8080' },
  ]);
  assert.equal(c.proxy.maxConnections, 250);
  assert.equal(c.log.level, 'debug');
  assert.equal(c.admin.listenAddress, '0.0.0.0:9090');
  assert.equal(c.admin.token, 'from-env');
});

test('without variables (or with empty ones) the file wins', () => {
  const c = configOf(parseConfigText(file, 'f.toml', { SIBYL_LISTEN_ADDRESS: '', SIBYL_MAX_CONNECTIONS: '  ', UNRELATED: 'x' }));
  assert.equal(c.proxy.listenAddress, '0.0.0.0:8080');
  assert.equal(c.proxy.maxConnections, 500);
  assert.equal(c.backends[0]?.name, 'from-file');
});

test('override values are validated, and the problem names the variable', () => {
  const result = parseConfigText(file, 'f.toml', {
    SIBYL_LISTEN_ADDRESS: 'nowhere',
    SIBYL_STRATEGY: 'round-robin',
    SIBYL_BACKEND_ADDRESSES: '10.0.0.1:80,10.0.0.1:80',
    SIBYL_MAX_CONNECTIONS: '0',
  });
  assert.deepEqual(problemsOf(result), [
    ['proxy.listen_address', 'invalid address "nowhere": expected "host:port" or "[ipv6]:port" (from SIBYL_LISTEN_ADDRESS)'],
    ['proxy.max_connections', 'must be >= 1 (from SIBYL_MAX_CONNECTIONS)'],
    ['strategy.algorithm', 'must be one of "round_robin", "weighted_round_robin", "least_connections", "ip_hash", "fastest_response_time", "power_of_two", "random", "adaptive"; did you mean "round_robin"? (from SIBYL_STRATEGY)'],
    ['backends[1].address', 'duplicate address "10.0.0.1:80" (also backends[0].address) (from SIBYL_BACKEND_ADDRESSES)'],
  ]);
});

test('a non-integer SIBYL_MAX_CONNECTIONS is a problem at env.SIBYL_MAX_CONNECTIONS', () => {
  for (const value of ['many', '1.5', '10k']) {
    assert.deepEqual(problemsOf(parseConfigText(file, 'f.toml', { SIBYL_MAX_CONNECTIONS: value })), [
      ['env.SIBYL_MAX_CONNECTIONS', `expected an integer, got ${JSON.stringify(value)}`],
    ]);
  }
});

test('a config by environment alone: valid once SIBYL_BACKEND_ADDRESSES is set', () => {
  assert.deepEqual(problemsOf(loadConfigFromEnv({})), [
    ['backends', 'at least one backend is required: add a [[backends]] table, set SIBYL_BACKEND_ADDRESSES, or use [discovery]'],
  ]);
  const c = configOf(loadConfigFromEnv({ SIBYL_BACKEND_ADDRESSES: '127.0.0.1:9001,127.0.0.1:9002', SIBYL_STRATEGY: 'adaptive' }));
  assert.deepEqual(c.backends.map((b) => b.address), ['127.0.0.1:9001', '127.0.0.1:9002']);
  assert.equal(c.strategy.algorithm, 'adaptive');
  assert.equal(c.proxy.listenAddress, '0.0.0.0:8080');
  assert.ok(Object.isFrozen(c.backends));
});

test('an admin listener exposed through the environment still needs a token', () => {
  assert.deepEqual(problemsOf(loadConfigFromEnv({ SIBYL_BACKEND_ADDRESSES: '127.0.0.1:9001', SIBYL_ADMIN_LISTEN_ADDRESS: '0.0.0.0:9090' })), [
    ['admin.token', 'required when listen_address (0.0.0.0:9090) is not loopback'],
  ]);
});

test('an override does not paper over a section that is not a table', () => {
  const result = parseConfigText('proxy = 5\n[[backends]]\naddress = "a:1"\n', 'f.toml', { SIBYL_LISTEN_ADDRESS: '127.0.0.1:1' });
  assert.deepEqual(problemsOf(result), [['proxy', 'expected a table, got number 5']]);
});

test('applyEnvOverrides leaves the document it is given untouched', () => {
  const document = { proxy: { listen_address: '0.0.0.0:1' } };
  const { document: out } = applyEnvOverrides(document, { SIBYL_LISTEN_ADDRESS: '127.0.0.1:2' });
  assert.deepEqual(document, { proxy: { listen_address: '0.0.0.0:1' } });
  assert.deepEqual(out, { proxy: { listen_address: '127.0.0.1:2' } });
});

test('SIBYL_REDIS_URL sets [shared] redis_url and is validated like the file', () => {
  const { document: out } = applyEnvOverrides({}, { SIBYL_REDIS_URL: 'redis://:secret@10.0.0.5:6379/1' });
  assert.deepEqual(out, { shared: { redis_url: 'redis://:secret@10.0.0.5:6379/1' } });
});

test('the exported list names every variable once, with the key it sets', () => {
  assert.deepEqual(
    envVars.map((v) => [v.name, v.key]),
    [
      ['SIBYL_LISTEN_ADDRESS', 'proxy.listen_address'],
      ['SIBYL_STRATEGY', 'strategy.algorithm'],
      ['SIBYL_BACKEND_ADDRESSES', 'backends'],
      ['SIBYL_MAX_CONNECTIONS', 'proxy.max_connections'],
      ['SIBYL_LOG_LEVEL', 'log.level'],
      ['SIBYL_ADMIN_LISTEN_ADDRESS', 'admin.listen_address'],
      ['SIBYL_ADMIN_TOKEN', 'admin.token'],
      ['SIBYL_REDIS_URL', 'shared.redis_url'],
    ],
  );
  for (const v of envVars) assert.ok(v.description.length > 5, v.name);
});
