import assert from 'node:assert/strict';
import { test } from 'node:test';
import { validateDocument, type ConfigResult } from './load.ts';

const pool = (name: string, port: number, extra: Record<string, unknown> = {}) => ({ name, backends: [{ name: `${name}-1`, address: `127.0.0.1:${port}` }], ...extra });
const validate = (doc: Record<string, unknown>): ConfigResult => validateDocument({ backends: [{ name: 'a', address: '127.0.0.1:9001' }], ...doc }, {});

function problemsOf(result: ConfigResult): string[] {
  assert.equal(result.ok, false, 'expected the config to be rejected');
  return result.ok ? [] : result.problems.map((p) => `${p.path}: ${p.message}`);
}

test('pools, routes and rollouts parse with their defaults', () => {
  const result = validate({
    pools: [pool('v2', 9002, { strategy: { algorithm: 'least_connections' }, health: { path: '/ready' } })],
    routes: [{ path_prefix: '/v2', pool: 'v2' }, { split: [{ pool: 'default', weight: 9 }, { pool: 'v2', weight: 1 }] }],
    rollouts: [{ name: 'r', stable: 'default', canary: 'v2' }],
  });
  if (!result.ok) assert.fail(JSON.stringify(result.problems));
  const c = result.config;
  assert.equal(c.pools[0]?.strategy?.algorithm, 'least_connections');
  assert.equal(c.pools[0]?.health?.path, '/ready');
  assert.equal(c.pools[0]?.health?.interval, 10_000, 'keys left out of a pool health table take their defaults');
  assert.deepEqual(c.routes[0]?.headers, []);
  assert.deepEqual(c.rollouts[0]?.steps, [10, 25, 50, 100]);
  assert.equal(c.rollouts[0]?.maxErrorRate, 1);
  assert.equal(c.rollouts[0]?.maxP99, 500);
  assert.equal(c.rollouts[0]?.minSamples, 100);
});

test('a pool named "default" may replace the top-level backends', () => {
  const result = validateDocument({ pools: [pool('default', 9001)] }, {});
  assert.equal(result.ok, true, JSON.stringify(result));
});

test('references, names, splits and weights are checked, every problem at once', () => {
  const problems = problemsOf(
    validate({
      pools: [pool('v2', 9002), pool('v2', 9003), pool('default', 9004), { name: 'v4', backends: [{ name: 'a', address: '127.0.0.1:9005' }] }],
      routes: [{ pool: 'nope' }, { split: [{ pool: 'v2', weight: 1 }, { pool: 'gone', weight: 1 }] }],
      rollouts: [{ name: 'r', stable: 'default', canary: 'v5' }],
    }),
  );
  assert.deepEqual(problems, [
    'pools[1].name: duplicate pool name "v2"',
    'pools[1].backends[0].name: backend name "v2-1" is already used in pools[0]; backend names are unique across pools',
    'pools[2].name: the pool "default" is the top-level [[backends]] (or what [discovery] finds); name this pool otherwise, or move those backends here',
    'pools[3].backends[0].name: backend name "a" is already used in backends; backend names are unique across pools',
    'routes[0].pool: unknown pool "nope" (pools: "default", "v2", "v4")',
    'routes[1].split[1].pool: unknown pool "gone" (pools: "default", "v2", "v4")',
    'rollouts[0].canary: unknown pool "v5" (pools: "default", "v2", "v4")',
  ]);
});

test('a route needs exactly one target, and a split a positive weight', () => {
  assert.deepEqual(problemsOf(validate({ routes: [{ path_prefix: '/x' }] })), ['routes[0]: needs exactly one of pool and split']);
  assert.deepEqual(problemsOf(validate({ routes: [{ pool: 'default', split: [{ pool: 'default', weight: 1 }] }] })), ['routes[0]: needs exactly one of pool and split']);
  assert.deepEqual(problemsOf(validate({ routes: [{ split: [] }] })), ['routes[0].split: an empty split sends traffic nowhere: give at least one pool']);
  assert.deepEqual(problemsOf(validate({ routes: [{ split: [{ pool: 'default', weight: 0 }] }] })), ['routes[0].split: the weights sum to 0: at least one must be positive']);
  assert.match(problemsOf(validate({ routes: [{ split: [{ pool: 'default', weight: -1 }] }] })).join(), /routes\[0\]\.split\[0\]\.weight/);
});

test('without backends or a default pool the config says where unmatched requests would go', () => {
  assert.deepEqual(problemsOf(validateDocument({ pools: [pool('v2', 9002)] }, {})), ['backends: no default pool: add [[backends]] or a pool named "default" (requests no route matches go there)']);
  assert.deepEqual(problemsOf(validateDocument({ pools: [{ name: 'v2', backends: [] }] }, {})), ['pools[0].backends: a pool needs at least one backend']);
});

test('a rollout\'s steps increase and its pools differ and are not chained', () => {
  const problems = problemsOf(
    validate({
      pools: [pool('v2', 9002), pool('v3', 9003)],
      rollouts: [
        { name: 'r1', stable: 'default', canary: 'default', steps: [50, 20] },
        { name: 'r2', stable: 'v2', canary: 'v3' },
      ],
    }),
  );
  assert.deepEqual(problems, ['rollouts[0].canary: must differ from stable', 'rollouts[0].steps[1]: steps must increase']);
  const chained = problemsOf(validate({ pools: [pool('v2', 9002), pool('v3', 9003)], rollouts: [{ name: 'r1', stable: 'default', canary: 'v2' }, { name: 'r2', stable: 'v2', canary: 'v3' }] }));
  assert.deepEqual(chained, ['rollouts[0].canary: pool "v2" is the stable pool of a rollout; a canary cannot be split again']);
});

test('blue-green pairs name two different existing pools, each in one pair only', () => {
  const problems = problemsOf(
    validate({
      pools: [pool('g', 9002)],
      blue_green: [
        { name: 'x', blue: 'default', green: 'default' },
        { name: 'y', blue: 'default', green: 'nope', active: 'red' },
      ],
    }),
  );
  assert.deepEqual(problems, ['blue_green[0].green: must differ from blue', 'blue_green[1].active: must be one of "blue", "green"; did you mean "green"?']);
  const overlap = problemsOf(validate({ pools: [pool('g', 9002), pool('h', 9003)], blue_green: [{ name: 'x', blue: 'default', green: 'g' }, { name: 'y', blue: 'g', green: 'nope' }] }));
  assert.deepEqual(overlap, ['blue_green[1].blue: pool "g" is already a side of blue-green "x"', 'blue_green[1].green: unknown pool "nope" (pools: "default", "g", "h")']);
});

test('flags: routes name existing flags, a feature has one flag, a segment one header or cookie', () => {
  const problems = problemsOf(
    validate({
      flags: [
        { name: 'a', feature: 'retry_aware_routing', segments: [{ header: 'x', cookie: 'y', value: '1' }] },
        { name: 'b', feature: 'retry_aware_routing', key: 'query:x' },
      ],
      routes: [{ flag: 'nope', pool: 'default' }],
    }),
  );
  assert.deepEqual(problems, ['flags[0].segments[0]: a segment needs exactly one of header and cookie', 'flags[1].key: expected "client_ip", "header:NAME" or "cookie:NAME"']);
  assert.deepEqual(problemsOf(validate({ flags: [{ name: 'a', feature: 'retry_aware_routing' }, { name: 'b', feature: 'retry_aware_routing' }], routes: [{ flag: 'nope', pool: 'default' }] })), [
    'flags[1].feature: feature retry_aware_routing is already switched by flag "a"',
    'routes[0].flag: unknown flag "nope"',
  ]);
});

test('shadows and experiments name existing, distinct pools', () => {
  assert.deepEqual(problemsOf(validate({ shadows: [{ name: 's', pool: 'default', shadow_pool: 'default' }] })), ['shadows[0].shadow_pool: must differ from pool: a pool cannot shadow itself']);
  assert.deepEqual(problemsOf(validate({ shadows: [{ name: 's', pool: 'default', shadow_pool: 'x' }] })), ['shadows[0].shadow_pool: unknown pool "x" (pools: "default")']);
  assert.deepEqual(problemsOf(validate({ experiments: [{ name: 'e', pool: 'default', key: 'client_ip', variants: [{ name: 'a', pool: 'default', weight: 1 }] }] })), ['experiments[0].variants: an experiment needs at least two variants (a control and one more)']);
  assert.deepEqual(problemsOf(validate({ experiments: [{ name: 'e', pool: 'default', key: 'client_ip', variants: [{ name: 'a', pool: 'default', weight: 1 }, { name: 'a', pool: 'default', weight: 1 }] }] })), [
    'experiments[0].variants[1].name: duplicate variant name "a"',
    'experiments[0].variants[1].pool: pool "default" already serves another variant; each variant needs its own pool',
  ]);
});
