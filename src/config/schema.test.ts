import { test } from 'node:test';
import assert from 'node:assert/strict';
import type * as z from 'zod';
import { configSchema } from './schema.ts';
import { validateDocument, type ConfigResult } from './load.ts';
import { camelToSnake, isSnakeKey, keysToCamel, snakeToCamel } from './keys.ts';
import { editDistance, suggest } from './suggest.ts';
import { parseStatusRange } from './fields.ts';

const backend = { address: '127.0.0.1:9001' };
const validate = (doc: Record<string, unknown>): ConfigResult => validateDocument({ backends: [backend], ...doc }, {});

function problemsOf(result: ConfigResult): Array<[string, string]> {
  assert.equal(result.ok, false, 'expected the config to be rejected');
  return result.ok ? [] : result.problems.map((p) => [p.path, p.message]);
}

function configOf(result: ConfigResult) {
  if (!result.ok) assert.fail(`expected a valid config, got ${JSON.stringify(result.problems)}`);
  return result.config;
}

test('defaults fill every section; durations become milliseconds', () => {
  const c = configOf(validate({}));
  assert.equal(c.proxy.listenAddress, '0.0.0.0:8080');
  assert.equal(c.proxy.connectTimeout, 5_000);
  assert.equal(c.proxy.maxBodyBytes, 10_485_760);
  assert.equal(c.strategy.algorithm, 'round_robin');
  assert.equal(c.health.interval, 10_000);
  assert.deepEqual(c.health.expectedStatus, { min: 200, max: 399 });
  assert.equal(c.health.slowStart, 0);
  assert.equal(c.outlierDetection.consecutive5xx, 5);
  assert.equal(c.outlierDetection.maxEjectionTime, 300_000);
  assert.equal(c.runtime.shutdownTimeoutMillis, 120_000);
  assert.equal(c.admin.listenAddress, '127.0.0.1:9090');
  assert.equal(c.admin.token, undefined);
  assert.equal(c.log.level, 'info');
  assert.deepEqual(c.backends, [{ address: '127.0.0.1:9001', weight: 1, name: '127.0.0.1:9001' }]);
});

test('written values are converted: durations, status ranges, header names', () => {
  const c = configOf(
    validate({
      proxy: { connect_timeout: '250ms', request_id_header: 'X-Trace-Id' },
      strategy: { algorithm: 'ip_hash', hash_key: 'header:X-Tenant' },
      health: { expected_status: '204', interval: '1m', timeout: '1.5s' },
    }),
  );
  assert.equal(c.proxy.connectTimeout, 250);
  assert.equal(c.proxy.requestIdHeader, 'x-trace-id');
  assert.equal(c.strategy.hashKey, 'header:x-tenant');
  assert.deepEqual(c.health.expectedStatus, { min: 204, max: 204 });
  assert.equal(c.health.interval, 60_000);
  assert.equal(c.health.timeout, 1_500);
});

test('the config is deeply frozen', () => {
  const c = configOf(validate({}));
  assert.ok(Object.isFrozen(c) && Object.isFrozen(c.proxy) && Object.isFrozen(c.backends) && Object.isFrozen(c.backends[0]));
  assert.ok(Object.isFrozen(c.health.expectedStatus));
  assert.throws(() => {
    (c.proxy as { maxConnections: number }).maxConnections = 1;
  }, TypeError);
});

test('value errors name the key and say what is expected', () => {
  assert.deepEqual(problemsOf(validate({ proxy: { connect_timeout: '5 s' } })), [
    ['proxy.connect_timeout', 'invalid duration "5 s": expected a duration like "10s", "500ms", "2m" or "1h"'],
  ]);
  assert.deepEqual(problemsOf(validate({ proxy: { connect_timeout: 5 } })), [['proxy.connect_timeout', 'expected a duration like "10s", "500ms", "2m" or "1h"']]);
  assert.deepEqual(problemsOf(validate({ proxy: { connect_timeout: '0s' } })), [['proxy.connect_timeout', 'must be greater than 0']]);
  assert.deepEqual(problemsOf(validate({ proxy: { connect_timeout: '1000h' } })), [['proxy.connect_timeout', 'must be at most 2147483647ms (Node timer limit)']]);
  assert.deepEqual(problemsOf(validate({ proxy: { max_connections: 0 } })), [['proxy.max_connections', 'must be >= 1']]);
  assert.deepEqual(problemsOf(validate({ proxy: { max_connections: 1.5 } })), [['proxy.max_connections', 'expected an integer, got number 1.5']]);
  assert.deepEqual(problemsOf(validate({ proxy: { add_via_header: 'yes' } })), [['proxy.add_via_header', 'expected true or false, got string "yes"']]);
  assert.deepEqual(problemsOf(validate({ proxy: 5 })), [['proxy', 'expected a table, got number 5']]);
  assert.deepEqual(problemsOf(validate({ health: { expected_status: '500-200' } })), [
    ['health.expected_status', 'invalid status range "500-200": expected "200-399" or "200", codes 100..599, min <= max'],
  ]);
  assert.deepEqual(problemsOf(validate({ health: { path: 'health' } })), [['health.path', 'must start with "/" and contain no spaces']]);
  assert.deepEqual(problemsOf(validate({ strategy: { hash_key: 'cookie:x' } })), [
    ['strategy.hash_key', 'invalid hash key "cookie:x": expected "client_ip" or "header:<name>"'],
  ]);
  assert.deepEqual(problemsOf(validate({ log: { access_log_sample_rate: 1.5 } })), [['log.access_log_sample_rate', 'must be <= 1']]);
});

test('an enum value close to a valid one gets a suggestion', () => {
  const [[path, message] = ['', '']] = problemsOf(validate({ strategy: { algorithm: 'least-connections' } }));
  assert.equal(path, 'strategy.algorithm');
  assert.match(message, /^must be one of "round_robin", .*; did you mean "least_connections"\?$/);
});

test('addresses: listeners may use port 0, backends may not', () => {
  assert.equal(configOf(validate({ proxy: { listen_address: '127.0.0.1:0' } })).proxy.listenAddress, '127.0.0.1:0');
  assert.equal(configOf(validate({ proxy: { listen_address: '[::1]:8080' } })).proxy.listenAddress, '[::1]:8080');
  assert.deepEqual(problemsOf(validateDocument({ backends: [{ address: '10.0.0.1:0' }] }, {})), [
    ['backends[0].address', 'invalid address "10.0.0.1:0": port must be 1..65535'],
  ]);
  assert.deepEqual(problemsOf(validate({ proxy: { listen_address: 'localhost:99999' } })), [
    ['proxy.listen_address', 'invalid address "localhost:99999": expected "host:port" or "[ipv6]:port"'],
  ]);
});

test('cross-field checks', () => {
  assert.deepEqual(problemsOf(validate({ health: { interval: '2s', timeout: '2s' } })), [['health.timeout', 'must be less than interval']]);
  assert.deepEqual(problemsOf(validate({ runtime: { drain_timeout_millis: 5000, accept_timeout_millis: 4000 } })), [
    ['runtime.accept_timeout_millis', 'must be >= drain_timeout_millis (5000)'],
  ]);
  assert.deepEqual(problemsOf(validate({ outlier_detection: { base_ejection_time: '1m', max_ejection_time: '30s' } })), [
    ['outlier_detection.max_ejection_time', 'must be >= base_ejection_time'],
  ]);
  assert.deepEqual(problemsOf(validate({ proxy: { client_header_timeout: '2m' } })), [['proxy.client_header_timeout', 'must be <= client_request_timeout']]);
  assert.deepEqual(problemsOf(validate({ admin: { listen_address: '0.0.0.0:8080' }, proxy: { listen_address: '127.0.0.1:8080' } })).map(([p]) => p), [
    'admin.token',
    'admin.listen_address',
  ]);
});

test('a cross-field check still runs when another key of its section is wrong', () => {
  assert.deepEqual(problemsOf(validate({ health: { interval: '2s', timeout: '3s', jitter: 2, bogus: 1 } })).map(([p]) => p), [
    'health.jitter',
    'health.bogus',
    'health.timeout',
  ]);
});

test('admin: a non-loopback listener needs a token; loopback or disabled does not', () => {
  assert.deepEqual(problemsOf(validate({ admin: { listen_address: '0.0.0.0:9090' } })), [
    ['admin.token', 'required when listen_address (0.0.0.0:9090) is not loopback'],
  ]);
  assert.equal(configOf(validate({ admin: { listen_address: '0.0.0.0:9090', token: 's3cret' } })).admin.token, 's3cret');
  assert.equal(configOf(validate({ admin: { listen_address: '10.0.0.5:9090', enabled: false } })).admin.enabled, false);
  for (const host of ['127.0.0.1', 'localhost', '[::1]']) configOf(validate({ admin: { listen_address: `${host}:9090` } }));
});

test('backends: at least one; ids, names and addresses unique, each duplicate at its own path', () => {
  assert.deepEqual(problemsOf(validateDocument({}, {})), [
    ['backends', 'at least one backend is required: add a [[backends]] table, set SIBYL_BACKEND_ADDRESSES, or use [discovery]'],
  ]);
  const result = validateDocument(
    {
      backends: [
        { id: 1, name: 'a', address: '10.0.0.1:80' },
        { id: 1, name: 'a', address: '10.0.0.2:80' },
        { name: 'b', address: '10.0.0.1:80' },
        { address: 'a:80' },
        { address: '10.0.0.9:80' },
        { address: '10.0.0.9:80' },
      ],
    },
    {},
  );
  assert.deepEqual(problemsOf(result), [
    ['backends[1].id', 'duplicate id 1 (also backends[0].id)'],
    ['backends[1].name', 'duplicate name "a" (also backends[0])'],
    ['backends[2].address', 'duplicate address "10.0.0.1:80" (also backends[0].address)'],
    ['backends[5].address', 'duplicate address "10.0.0.9:80" (also backends[4].address)'],
  ]);
});

test('an unnamed backend whose address is another backend\'s name is reported', () => {
  const result = validateDocument({ backends: [{ name: '10.0.0.2:80', address: '10.0.0.1:80' }, { address: '10.0.0.2:80' }] }, {});
  assert.deepEqual(problemsOf(result).map(([p]) => p), ['backends[1]']);
});

test('unknown keys at every level get a suggestion, or the list of known keys', () => {
  assert.deepEqual(problemsOf(validate({ helth: {} })), [['helth', 'unknown key; did you mean `health`?']]);
  assert.deepEqual(problemsOf(validateDocument({ backends: [{ address: 'a:1', wieght: 2 }] }, {})), [['backends[0].wieght', 'unknown key; did you mean `weight`?']]);
  assert.deepEqual(problemsOf(validate({ metrics: { zzzzzzzz: 1 } })), [['metrics.zzzzzzzz', 'unknown key; known keys: enabled, interval, path']]);
});

test('a key not in snake_case is rejected with its snake_case spelling', () => {
  assert.deepEqual(problemsOf(validate({ proxy: { listenAddress: '1.2.3.4:80' } })), [
    ['proxy.listenAddress', 'unknown key (keys are snake_case); did you mean `listen_address`?'],
  ]);
  assert.deepEqual(problemsOf(validate({ outlier_detection: { consecutive5xx: 3 } })), [
    ['outlier_detection.consecutive5xx', 'unknown key (keys are snake_case); did you mean `consecutive_5xx`?'],
  ]);
  assert.deepEqual(problemsOf(validate({ 'outlier-detection': {} })), [['outlier-detection', 'unknown key (keys are snake_case); did you mean `outlier_detection`?']]);
  assert.deepEqual(problemsOf(validate({ log: { Lvl: 'info' } })), [['log.Lvl', 'unknown key (keys are snake_case); did you mean `level`?']]);
});

/** Every property name declared anywhere in the schema. */
function schemaKeys(schema: z.core.$ZodType, out: string[] = []): string[] {
  const def = schema._zod.def as { innerType?: z.core.$ZodType; in?: z.core.$ZodType; element?: z.core.$ZodType; shape?: Record<string, z.core.$ZodType> };
  for (const child of [def.innerType, def.in, def.element]) if (child !== undefined) schemaKeys(child, out);
  for (const [key, child] of Object.entries(def.shape ?? {})) {
    out.push(key);
    schemaKeys(child, out);
  }
  return out;
}

test('every schema key maps to a snake_case TOML key and back', () => {
  const keys = schemaKeys(configSchema);
  assert.ok(keys.length > 60, `found only ${keys.length} keys`);
  for (const key of keys) {
    const snake = camelToSnake(key);
    assert.ok(isSnakeKey(snake), `${key} -> ${snake} is not a valid TOML key`);
    assert.equal(snakeToCamel(snake), key);
  }
});

test('key mapping', () => {
  assert.equal(snakeToCamel('listen_address'), 'listenAddress');
  assert.equal(snakeToCamel('consecutive_5xx'), 'consecutive5xx');
  assert.equal(camelToSnake('consecutive5xx'), 'consecutive_5xx');
  assert.equal(camelToSnake('ipv6Only'), 'ipv6_only');
  for (const bad of ['listenAddress', 'Listen', 'a__b', '_a', 'a_', 'consecutive5xx']) assert.equal(isSnakeKey(bad), false, bad);
  const { value, rejected } = keysToCamel({ a_b: [{ c_d: 1, eF: 2 }], g: { h_i: new Date(0) } });
  assert.deepEqual(value, { aB: [{ cD: 1 }], g: { hI: new Date(0) } });
  assert.deepEqual(rejected, [{ parent: ['aB', 0], key: 'eF' }]);
});

test('suggestions: Levenshtein within 3 edits', () => {
  assert.equal(editDistance('kitten', 'sitting'), 3);
  assert.equal(editDistance('', 'abc'), 3);
  assert.equal(suggest('listen_adress', ['listen_address', 'max_connections']), 'listen_address');
  assert.equal(suggest('max_conections', ['listen_address', 'max_connections']), 'max_connections');
  assert.equal(suggest('tiemout', ['timeout', 'interval']), 'timeout');
  assert.equal(suggest('completely_else', ['timeout', 'interval']), undefined);
  assert.equal(suggest('ab', ['id']), undefined);
});

test('status ranges', () => {
  assert.deepEqual(parseStatusRange('200-399'), { min: 200, max: 399 });
  assert.deepEqual(parseStatusRange(' 200 - 204 '), { min: 200, max: 204 });
  assert.deepEqual(parseStatusRange('204'), { min: 204, max: 204 });
  for (const bad of ['', '2xx', '099', '600', '300-200', '200-', '200-399-500']) assert.equal(parseStatusRange(bad), undefined, bad);
});

test('[runtime] honest names and the seed\'s aliases: either spelling works, both at once is an error', () => {
  const honest = configOf(validate({ runtime: { access_log_buffer: 123, shutdown_timeout_millis: 40_000 } })).runtime;
  const seed = configOf(validate({ runtime: { metrics_cap: 123, accept_timeout_millis: 40_000 } })).runtime;
  assert.deepEqual([honest.accessLogBuffer, honest.shutdownTimeoutMillis], [123, 40_000]);
  assert.deepEqual(seed, honest, 'the seed\'s names set the same keys');
  assert.equal('metricsCap' in seed || 'acceptTimeoutMillis' in seed, false, 'the config in service has one name per key');
  const defaults = configOf(validate({})).runtime;
  assert.deepEqual([defaults.accessLogBuffer, defaults.shutdownTimeoutMillis], [10_000, 120_000]);
  assert.deepEqual(problemsOf(validate({ runtime: { metrics_cap: 1, access_log_buffer: 2, accept_timeout_millis: 40_000, shutdown_timeout_millis: 40_000 } })), [
    ['runtime.metrics_cap', 'is an alias of access_log_buffer, which is given too: give one of them'],
    ['runtime.accept_timeout_millis', 'is an alias of shutdown_timeout_millis, which is given too: give one of them'],
  ]);
  // checks name the spelling the file used
  assert.deepEqual(problemsOf(validate({ runtime: { drain_timeout_millis: 5000, shutdown_timeout_millis: 4000 } })), [
    ['runtime.shutdown_timeout_millis', 'must be >= drain_timeout_millis (5000)'],
  ]);
  assert.deepEqual(problemsOf(validate({ runtime: { metrics_cap: 0 } })).map(([p]) => p), ['runtime.metrics_cap']);
});
