import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_LEARN_AFTER_MS, RetryDelayEstimate } from './retry-delay.ts';

test('the learning delay follows how fast clients retry, within [1 s, window]', () => {
  const e = new RetryDelayEstimate();
  assert.equal(e.learnAfterMs(30_000), DEFAULT_LEARN_AFTER_MS, 'nothing seen yet');
  assert.equal(e.learnAfterMs(2_000), 2_000, 'never past the window');
  for (let i = 0; i < 128; i++) e.observe(i < 100 ? 300 : 4_000); // mostly fast, a slow fifth
  assert.equal(e.learnAfterMs(30_000), 6_000, '1.5 x the 90th percentile');
  for (let i = 0; i < 128; i++) e.observe(50);
  assert.equal(e.learnAfterMs(30_000), 1_000, 'not below a second');
  e.observe(Number.NaN);
  e.observe(-5);
  assert.equal(e.learnAfterMs(30_000), 1_000);
});
