import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assignmentPoint, experimentReport, variantIndex, VariantTally, type ExperimentSpec } from './experiment.ts';

const spec: ExperimentSpec = {
  name: 'checkout',
  pool: 'default',
  key: 'header:x-user',
  variants: [{ name: 'control', pool: 'default', weight: 50 }, { name: 'b', pool: 'v2', weight: 30 }, { name: 'c', pool: 'v3', weight: 20 }],
  alpha: 0.05,
  power: 0.8,
  minDetectableEffect: 0.02,
};

test('assignment over 100k keys matches the weights within 1 percentage point (about 6 standard deviations)', () => {
  const counts = [0, 0, 0];
  for (let i = 0; i < 100_000; i++) {
    const v = variantIndex(spec.variants, assignmentPoint(spec.name, `user-${i}`));
    counts[v] = (counts[v] ?? 0) + 1;
  }
  const shares = counts.map((c) => c / 1000);
  for (const [i, expected] of [50, 30, 20].entries()) assert.ok(Math.abs((shares[i] ?? 0) - expected) <= 1, `variant ${i}: ${shares[i]} % vs ${expected} %`);
});

test('assignment is sticky, and independent between experiments', () => {
  const point = assignmentPoint('checkout', 'user-42');
  assert.equal(assignmentPoint('checkout', 'user-42'), point);
  assert.equal(point, 0.4508092049509287, 'pinned: a changed hash would reassign every user of running experiments');
  let same = 0;
  for (let i = 0; i < 10_000; i++) {
    const a = variantIndex(spec.variants, assignmentPoint('checkout', `k${i}`)) === 0;
    const b = variantIndex(spec.variants, assignmentPoint('pricing', `k${i}`)) === 0;
    if (a === b) same++;
  }
  assert.ok(same > 4500 && same < 5500, `another experiment reshuffles: ${same} of 10000 agree (about half expected)`);
  assert.equal(variantIndex([{ name: 'a', pool: 'a', weight: 0 }, { name: 'b', pool: 'b', weight: 1 }], 0), 1, 'a zero weight gets nothing');
});

test('the report compares every variant with the control and says whether the sample is enough', () => {
  const tallies = [new VariantTally(), new VariantTally(), new VariantTally()];
  for (let i = 0; i < 1000; i++) {
    tallies[0]?.record(i % 10 !== 0, 100 + (i % 7));
    tallies[1]?.record(i % 20 !== 0, 90 + (i % 7));
    tallies[2]?.record(i % 10 !== 0, 100 + (i % 7));
  }
  const r = experimentReport(spec, tallies);
  assert.equal(r.variants[0]?.successRate, 0.9);
  assert.equal(r.variants[0]?.vsControl, undefined);
  const b = r.variants[1]?.vsControl;
  assert.ok(b !== undefined);
  assert.ok(Math.abs(b.successRateDiff - 0.05) < 1e-12);
  assert.ok(Math.abs(b.latencyDiffMs + 10) < 0.1);
  assert.equal(b.isLatencySignificant, true);
  assert.equal(r.variants[2]?.vsControl?.isLatencySignificant, false);
  assert.equal(r.successRates.df, 2);
  assert.equal(r.successRates.isSignificant, true);
  assert.equal(r.isSampleEnough, false, '1000 per variant is below what +2 points from 90 % needs');
  assert.ok(r.requiredPerVariant > 1000);
});
