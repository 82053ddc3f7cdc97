import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { brierScore, expectedCalibrationError, logLoss, ProgressiveValidator, reliabilityTable, rocAuc } from './quality.ts';

const close = (actual: number | null, expected: number, eps = 1e-12): void => {
  assert.ok(actual !== null && Math.abs(actual - expected) <= eps, `expected ${expected}, got ${actual}`);
};

test('rocAuc: hand-computed 4-point example with a tie', () => {
  // positives at 0.4 and 0.8, negatives at 0.1 and 0.4. Pairs (pos, neg):
  // (0.4, 0.1) = 1, (0.4, 0.4) = 1/2 (tie), (0.8, 0.1) = 1, (0.8, 0.4) = 1  ->  3.5 / 4 = 0.875
  close(rocAuc([0.1, 0.4, 0.4, 0.8], [0, 0, 1, 1]), 0.875);
  // inverted ranking with a tie: only (0.5, 0.5) counts, 1/2 of 4 pairs = 0.125
  close(rocAuc([0.2, 0.5, 0.5, 0.9], [1, 0, 1, 0]), 0.125);
  // all tied: 0.5
  close(rocAuc([0.3, 0.3, 0.3], [1, 0, 1]), 0.5);
});

test('rocAuc: null with one class, errors on empty or mismatched input', () => {
  assert.equal(rocAuc([0.1, 0.9], [1, 1]), null);
  assert.equal(rocAuc([0.1, 0.9], [0, 0]), null);
  assert.throws(() => rocAuc([], []), RangeError);
  assert.throws(() => rocAuc([0.1], [1, 0]), RangeError);
});

test('rocAuc: property: equals the O(n^2) pair count', () => {
  const point = fc.tuple(fc.integer({ min: 0, max: 10 }).map((k) => k / 10), fc.constantFrom(0, 1));
  fc.assert(
    fc.property(fc.array(point, { minLength: 1, maxLength: 60 }), (points) => {
      const ps = points.map(([p]) => p);
      const ys = points.map(([, y]) => y);
      let pairs = 0;
      let wins = 0;
      for (const [pp, yp] of points) {
        if (yp !== 1) continue;
        for (const [pn, yn] of points) {
          if (yn !== 0) continue;
          pairs++;
          wins += pp > pn ? 1 : pp === pn ? 0.5 : 0;
        }
      }
      const auc = rocAuc(ps, ys);
      if (pairs === 0) assert.equal(auc, null);
      else close(auc, wins / pairs, 1e-9);
    }),
  );
});

test('logLoss and brierScore: hand-computed, and clamped', () => {
  // -(ln 0.8 + ln(1 - 0.4)) / 2 = (0.2231435513 + 0.5108256238) / 2 = 0.3669845875
  close(logLoss([0.8, 0.4], [1, 0]), 0.36698458754, 1e-10);
  // ((1 - 0.8)^2 + (0.4 - 0)^2) / 2 = (0.04 + 0.16) / 2 = 0.1
  close(brierScore([0.8, 0.4], [1, 0]), 0.1);
  // a certain and wrong prediction costs -ln(1e-7) = 16.118..., not Infinity
  close(logLoss([0], [1]), -Math.log(1e-7), 1e-9);
  close(logLoss([1], [0]), -Math.log(1e-7), 1e-6);
});

test('expectedCalibrationError and reliabilityTable: hand-computed', () => {
  // 10 bins: 0.1 and 0.15 -> bin 1 (mean 0.125, observed 1/2, gap 0.375, weight 2/4)
  //          0.8 -> bin 8 (gap 0.2, weight 1/4); 0.9 -> bin 9 (gap 0.1, weight 1/4)
  // ECE = 0.1875 + 0.05 + 0.025 = 0.2625
  const ps = [0.1, 0.15, 0.8, 0.9];
  const ys = [0, 1, 1, 1];
  close(expectedCalibrationError(ps, ys), 0.2625);
  const rows = reliabilityTable(ps, ys, 10);
  assert.equal(rows.length, 10);
  assert.deepEqual(rows[0], { from: 0, to: 0.1, count: 0, meanPredicted: null, observedRate: null });
  assert.equal(rows[1]!.count, 2);
  close(rows[1]!.meanPredicted, 0.125);
  close(rows[1]!.observedRate, 0.5);
  // p = 1 belongs to the last bin
  assert.equal(reliabilityTable([1], [1], 4)[3]!.count, 1);
  // perfectly calibrated in every bin
  close(expectedCalibrationError([0.25, 0.25, 0.25, 0.25], [1, 0, 0, 0], 4), 0);
});

test('ProgressiveValidator: scores only the last windowSize pairs', () => {
  const validator = new ProgressiveValidator(4);
  assert.deepEqual(validator.report(), { count: 0, auc: null, logLoss: null, brier: null, ece: null, positiveRate: null });
  validator.add(0.9, 1);
  assert.equal(validator.report().auc, null);
  // six perfectly wrong predictions, then the four that stay in the window are perfectly right
  for (let i = 0; i < 6; i++) validator.add(i % 2 === 0 ? 0.9 : 0.1, i % 2 === 0 ? 0 : 1);
  validator.add(0.9, 1);
  validator.add(0.1, 0);
  validator.add(0.8, 1);
  validator.add(0.2, 0);
  const report = validator.report();
  assert.equal(report.count, 4);
  assert.equal(report.auc, 1);
  assert.equal(report.positiveRate, 0.5);
  close(report.brier, (0.01 + 0.01 + 0.04 + 0.04) / 4);
  assert.throws(() => new ProgressiveValidator(0), RangeError);
});
