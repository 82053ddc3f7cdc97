import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { fnv1a32 } from '../core/hash.ts';
import type { AttemptEvent } from '../telemetry/attempt-event.ts';
import { createFeatureVector, extractFeatures, FEATURE_SPEC, featureSpecHash, MAX_FEATURES } from './features.ts';
import type { FeatureInput, FeatureVector } from './features.ts';

const FULL: FeatureInput = {
  status: 503,
  errorKind: 'none',
  latencyMs: 120,
  bytesIn: 0,
  bytesOut: 512,
  retryAfterSec: 3,
  attempt: 2,
  method: 'GET',
  route: '/api/users/:id',
  userAgentFamily: 'okhttp',
  clientRetryRate: 0.4,
  clientLabelCount: 7,
  backend: 'b1',
  backendLatencyEwmaMs: 80,
  backendErrorEwma: 0.03,
  backendInFlight: 5,
};

function pairs(v: FeatureVector): Array<[number, number]> {
  return Array.from({ length: v.count }, (_, k) => [v.indices[k]!, v.values[k]!]);
}

function extract(input: FeatureInput, hashBits = 18): Array<[number, number]> {
  const out = createFeatureVector();
  extractFeatures(input, hashBits, out);
  return pairs(out);
}

test('features: same input, same pairs, also when the vector is reused', () => {
  const out = createFeatureVector();
  extractFeatures(FULL, 18, out);
  const first = pairs(out);
  extractFeatures({ status: 200 }, 18, out);
  extractFeatures(FULL, 18, out);
  assert.deepEqual(pairs(out), first);
  assert.deepEqual(extract({ ...FULL }), first);
  // every template fires once for a complete input
  assert.equal(first.length, MAX_FEATURES);
  assert.equal(MAX_FEATURES, FEATURE_SPEC.names.length);
});

test('features: a categorical feature is fnv1a32("name=value") masked to hashBits', () => {
  const mask = (1 << 18) - 1;
  const got = new Set(extract(FULL).map(([i]) => i));
  for (const text of ['bias', 'status=503', 'statusClass=5', 'errorKind=none', 'attempt=2', 'route=/api/users/:id', 'userAgentFamily=okhttp', 'backendInFlightBucket=2']) {
    assert.ok(got.has(fnv1a32(text) & mask), text);
  }
  // a numeric feature hashes its name and carries the value
  const latency = extract({ status: 200, latencyMs: 99 }).find(([i]) => i === (fnv1a32('logLatency') & mask));
  assert.ok(latency !== undefined);
  assert.equal(latency[1], Math.log1p(99) / 10);
});

test('features: every (status, attempt) and (status, user agent) pair has its own cross coordinate', () => {
  const bits = 31;
  const mask = 2 ** bits - 1;
  const indices = (input: FeatureInput): number[] => extract(input, bits).map(([i]) => i);
  const crosses = new Set<number>();
  for (let status = 0; status <= 1000; status++) {
    const alone = new Set(indices({ status }));
    for (const [attempt, agent] of [[1, 'okhttp'], [2, 'browser'], [3, 'curl'], [4, 'okhttp']] as const) {
      const parts = new Set([fnv1a32(`attempt=${attempt}`) & mask, fnv1a32(`userAgentFamily=${agent}`) & mask]);
      // what the attempt and agent bring whatever the status (attempt x client retry bucket,
      // attempt x agent) is not a status cross
      const statusFree = new Set(indices({ status: status === 500 ? 501 : 500, attempt, userAgentFamily: agent }));
      const own = indices({ status, attempt, userAgentFamily: agent }).filter((i) => !alone.has(i) && !parts.has(i) && !statusFree.has(i));
      assert.equal(own.length, 2, `status ${status}: the two crosses`);
      for (const i of own) crosses.add(i);
    }
  }
  // per status: 4 attempts and 3 distinct agents (okhttp twice), none shared with another status
  assert.equal(crosses.size, 1001 * (4 + 3));
});

test('features: attempts 1 to 5 apart, 6 and more together, crossed with the user agent', () => {
  const of = (attempt: number, userAgentFamily = 'got'): string => JSON.stringify(extract({ status: 429, attempt, userAgentFamily }));
  const distinct = new Set([1, 2, 3, 4, 5, 6].map((a) => of(a)));
  assert.equal(distinct.size, 6);
  assert.equal(of(9), of(6));
  // the same attempt of another library is another coordinate beyond the agent's own
  const got = new Set(extract({ status: 429, attempt: 3, userAgentFamily: 'got' }).map(([i]) => i));
  const node = extract({ status: 429, attempt: 3, userAgentFamily: 'node' }).map(([i]) => i).filter((i) => !got.has(i));
  assert.equal(node.length, 3, 'agent, status x agent, attempt x agent');
  const post = extract({ status: 429, attempt: 3, userAgentFamily: 'got', method: 'POST' }).map(([i]) => i);
  const put = new Set(extract({ status: 429, attempt: 3, userAgentFamily: 'got', method: 'PUT' }).map(([i]) => i));
  assert.equal(post.filter((i) => !put.has(i)).length, 3, 'method, method x status class, method x agent');
});

test('features: status changes the pairs, backend state within the same buckets does not', () => {
  assert.notDeepEqual(extract({ ...FULL, status: 500 }), extract(FULL));
  assert.notDeepEqual(extract({ ...FULL, status: 429 }), extract(FULL));
  const sameBuckets = { ...FULL, backendLatencyEwmaMs: 190, backendErrorEwma: 0.049, backendInFlight: 8 };
  assert.deepEqual(extract(sameBuckets), extract(FULL));
  const otherBucket = { ...FULL, backendLatencyEwmaMs: 250 };
  assert.notDeepEqual(extract(otherBucket), extract(FULL));
});

test('features: the client retry rate counts only with labels behind it', () => {
  // no labels: the rate is noise, and the pairs do not depend on it
  assert.deepEqual(extract({ ...FULL, clientLabelCount: 0, clientRetryRate: 0.9 }), extract({ ...FULL, clientLabelCount: 0, clientRetryRate: 0 }));
  // few labels and many labels use different coordinates for the same rate
  const few = new Set(extract({ ...FULL, clientLabelCount: 2 }).map(([i]) => i));
  const many = new Set(extract({ ...FULL, clientLabelCount: 50 }).map(([i]) => i));
  assert.ok([...many].some((i) => !few.has(i)));
});

test('features: an AttemptEvent is a FeatureInput, and its label and ids change nothing', () => {
  const event: AttemptEvent = {
    ...(FULL as Required<FeatureInput>),
    requestId: 'r-1',
    startedAtMs: 1,
    endedAtMs: 121,
    clientKey: 'c',
    repeat: false,
    retryMarker: false,
    fingerprint: 'f',
    prediction: 0.3,
  };
  const other: AttemptEvent = { ...event, requestId: 'r-2', startedAtMs: 99, endedAtMs: 999, clientKey: 'd', fingerprint: 'g', prediction: 0.9 };
  assert.deepEqual(extract(event), extract(other));
  assert.deepEqual(extract(event), extract(FULL));
});

test('features: property: indices below 2^hashBits, values finite, for any partial input', () => {
  const maybe = <T>(arb: fc.Arbitrary<T>): fc.Arbitrary<T | undefined> => fc.option(arb, { nil: undefined });
  const num = fc.double();
  const input = fc.record({
    status: fc.oneof(fc.integer({ min: -5, max: 1200 }), fc.double()),
    errorKind: maybe(fc.constantFrom('none' as const, 'timeout' as const, 'reset' as const)),
    latencyMs: maybe(num),
    bytesIn: maybe(num),
    bytesOut: maybe(num),
    retryAfterSec: maybe(num),
    attempt: maybe(num),
    method: maybe(fc.string()),
    route: maybe(fc.string()),
    userAgentFamily: maybe(fc.string()),
    clientRetryRate: maybe(num),
    clientLabelCount: maybe(num),
    backend: maybe(fc.string()),
    backendLatencyEwmaMs: maybe(num),
    backendErrorEwma: maybe(num),
    backendInFlight: maybe(num),
  });
  const out = createFeatureVector();
  fc.assert(
    fc.property(input, fc.integer({ min: 1, max: 31 }), (features, hashBits) => {
      extractFeatures(features, hashBits, out);
      assert.ok(out.count >= 5 && out.count <= MAX_FEATURES);
      for (let k = 0; k < out.count; k++) {
        assert.ok(out.indices[k]! < 2 ** hashBits);
        assert.ok(Number.isFinite(out.values[k]!));
      }
    }),
  );
});

test('features: the minimal input has no NaN and keeps bias, status, class, Retry-After flag, client bucket', () => {
  const got = extract({ status: 200 });
  assert.equal(got.length, 6);
  assert.ok(got.every(([, v]) => v === 1));
});

test('featureSpecHash: stable hex, different per hashBits', () => {
  assert.match(featureSpecHash(18), /^[0-9a-f]{16}$/);
  assert.equal(featureSpecHash(18), featureSpecHash(18));
  assert.notEqual(featureSpecHash(18), featureSpecHash(20));
});
