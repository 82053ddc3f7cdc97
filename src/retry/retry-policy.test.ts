import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { createSeededRng } from '../core/rng.ts';
import { RetryBudget } from './retry-budget.ts';
import { decideRetry, type AttemptFacts, type RetryPolicyOptions } from './retry-policy.ts';

const options: RetryPolicyOptions = {
  maxRetries: 2,
  retryOnStatuses: new Set([502, 503, 504]),
  retryOnErrorKinds: new Set(['refused', 'connect_timeout', 'reset', 'timeout']),
  backoff: { baseMs: 25, maxMs: 250 },
};
const ok: AttemptFacts = { method: 'GET', hasIdempotencyKey: false, isBodyReplayable: true, isResponseStarted: false, status: 503, errorKind: 'none', retriesSoFar: 0, hasOtherBackend: true };
const rng = createSeededRng(7);
const roomy = () => new RetryBudget({ ratio: 1, minRetriesPerSecond: 100, ttlMs: 10_000 });

test('a 503 on a GET with another backend and budget is retried after a jittered delay', () => {
  const d = decideRetry(ok, options, roomy(), 0, rng);
  assert.equal(d.shouldRetry, true);
  if (d.shouldRetry) assert.ok(d.delayMs >= 0 && d.delayMs < 25);
});

test('every reason not to retry is named', () => {
  const cases: [Partial<AttemptFacts>, string][] = [
    [{ status: 200 }, 'success'],
    [{ status: 500 }, 'not_retryable_outcome'],
    [{ method: 'POST' }, 'method_not_idempotent'],
    [{ isBodyReplayable: false }, 'body_not_replayable'],
    [{ isResponseStarted: true }, 'response_started'],
    [{ retriesSoFar: 2 }, 'max_retries'],
    [{ hasOtherBackend: false }, 'no_other_backend'],
  ];
  for (const [change, reason] of cases) {
    const d = decideRetry({ ...ok, ...change }, options, roomy(), 0, rng);
    assert.deepEqual(d, { shouldRetry: false, reason }, JSON.stringify(change));
  }
  const empty = new RetryBudget({ ratio: 0, minRetriesPerSecond: 0, ttlMs: 1000 });
  assert.deepEqual(decideRetry(ok, options, empty, 0, rng), { shouldRetry: false, reason: 'budget_exhausted' });
});

test('a POST is retried only with an Idempotency-Key, or when the connection was refused', () => {
  assert.equal(decideRetry({ ...ok, method: 'POST', hasIdempotencyKey: true }, options, roomy(), 0, rng).shouldRetry, true);
  assert.equal(decideRetry({ ...ok, method: 'POST', status: 0, errorKind: 'refused' }, options, roomy(), 0, rng).shouldRetry, true);
  assert.equal(decideRetry({ ...ok, method: 'POST', status: 0, errorKind: 'reset' }, options, roomy(), 0, rng).shouldRetry, false);
});

test('property: never retries a non-idempotent request that reached the backend without an Idempotency-Key', () => {
  fc.assert(
    fc.property(
      fc.constantFrom('POST', 'PATCH', 'CONNECT'),
      fc.constantFrom('none', 'reset', 'timeout', 'protocol'),
      fc.integer({ min: 0, max: 599 }),
      fc.boolean(),
      (method, errorKind, status, isBodyReplayable) => {
        const d = decideRetry({ ...ok, method, status, errorKind: errorKind as AttemptFacts['errorKind'], isBodyReplayable }, options, roomy(), 0, rng);
        return !d.shouldRetry;
      },
    ),
  );
});
