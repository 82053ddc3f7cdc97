import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parsePredictBody, recommendedAction, toFeatureInput } from './predict-api.ts';

test("the seed's contract parses and maps onto model features", () => {
  const parsed = parsePredictBody({ response_time_ms: 1200, status_code: 503, bytes_sent: 512, anomaly_score: 0.3 });
  assert.ok(parsed.ok);
  assert.equal(parsed.isBatch, false);
  const input = toFeatureInput(parsed.requests[0]!);
  assert.equal(input.status, 503);
  assert.equal(input.latencyMs, 1200);
  assert.equal(input.bytesOut, 512);
});

test('bad input names the offending field', () => {
  const missing = parsePredictBody({ response_time_ms: 5 });
  assert.deepEqual(missing.ok ? undefined : missing.field, 'status_code');
  const wrongType = parsePredictBody({ status_code: 200, response_time_ms: 'fast' });
  assert.deepEqual(wrongType.ok ? undefined : wrongType.field, 'response_time_ms');
  const unknown = parsePredictBody({ status_code: 200, colour: 'red' });
  assert.equal(unknown.ok, false);
  const inBatch = parsePredictBody({ requests: [{ status_code: 200 }, { status_code: -1 }] });
  assert.deepEqual(inBatch.ok ? undefined : inBatch.field, 'requests.1.status_code');
  const emptyBatch = parsePredictBody({ requests: [] });
  assert.deepEqual(emptyBatch.ok ? undefined : emptyBatch.field, 'requests');
});

test('recommended action by thresholds', () => {
  const t = { routeBackup: 0.5, circuitBreak: 0.8 };
  assert.equal(recommendedAction(0.2, t), 'ALLOW');
  assert.equal(recommendedAction(0.5, t), 'ROUTE_BACKUP');
  assert.equal(recommendedAction(0.95, t), 'CIRCUIT_BREAK');
});
