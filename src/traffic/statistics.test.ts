// Known values: chi-square and t critical values from the published tables (NIST/SEMATECH
// e-Handbook 1.3.6.7.2-4), the Welch example of Wikipedia's "Welch's t-test" article, and values
// computed independently with SciPy 1.17 (scipy.stats.chi2.sf, t.sf, norm.ppf, chi2_contingency,
// ttest_ind(equal_var=False)). Sample size for baseline 10 %, +2 points, alpha 0.05, power 0.8:
// the pooled-variance formula (Fleiss, Levin & Paik, Statistical Methods for Rates and Proportions,
// 3rd ed., eq. 4.14 without continuity correction) gives 3840.8 -> 3841 per variant; for comparison,
// Cohen's h (G*Power, statsmodels NormalIndPower) gives 3835 and Evan Miller's calculator, which
// uses the baseline's variance under H0, 3623 (all recomputed with SciPy).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { chiSquareSurvival, chiSquareTest, normalCdf, normalQuantile, RunningStats, sampleSizePerVariant, studentTTwoSided, welchTTest } from './statistics.ts';

const close = (actual: number, expected: number, relative: number, what: string): void => {
  assert.ok(Math.abs(actual - expected) <= relative * Math.abs(expected), `${what}: ${actual} vs ${expected}`);
};

test('chi-square survival matches the table and SciPy', () => {
  close(chiSquareSurvival(3.841458820694124, 1), 0.05, 1e-9, 'df 1, 5 % critical value');
  close(chiSquareSurvival(5.991464547107979, 2), 0.05, 1e-9, 'df 2, 5 % critical value');
  close(chiSquareSurvival(6.635, 1), 0.01, 1e-3, 'df 1, 1 % critical value (table, 3 decimals)');
  close(chiSquareSurvival(10, 3), 0.01856613546304325, 1e-9, 'df 3');
  close(chiSquareSurvival(0.5, 1), 0.47950012218695337, 1e-9, 'df 1, small x');
  close(chiSquareSurvival(100, 20), 1.2596084591660847e-12, 1e-6, 'df 20, far tail');
});

test('Student t two-sided p-values match the table and SciPy, fractional df included', () => {
  close(studentTTwoSided(2.228138851986274, 10), 0.05, 1e-9, 'df 10, 5 % two-sided');
  close(studentTTwoSided(2.086, 20), 0.05, 1e-3, 'df 20 (table, 3 decimals)');
  close(studentTTwoSided(1.5, 3.7), 0.2135981692020135, 1e-9, 'df 3.7');
  close(studentTTwoSided(-4, 25.3), 0.000486717761840913, 1e-8, 'df 25.3, negative t');
});

test('normal quantile and CDF', () => {
  close(normalQuantile(0.975), 1.959963984540054, 1e-12, 'z 0.975');
  close(normalQuantile(0.8), 0.8416212335729143, 1e-12, 'z 0.8');
  close(normalQuantile(1e-6), -4.753424308822899, 1e-12, 'z 1e-6');
  close(normalCdf(-1.3), 0.09680048458561036, 1e-12, 'Phi(-1.3)');
});

test('chi-square test of a 3 x 2 table equals SciPy chi2_contingency without correction', () => {
  const r = chiSquareTest([{ successes: 120, trials: 1000 }, { successes: 150, trials: 1000 }, { successes: 95, trials: 1000 }]);
  close(r.statistic, 14.19250864287385, 1e-12, 'statistic');
  assert.equal(r.df, 2);
  close(r.pValue, 0.0008282012964784484, 1e-9, 'p-value');
  assert.ok(Number.isNaN(chiSquareTest([{ successes: 10, trials: 10 }, { successes: 5, trials: 5 }]).pValue), 'no failures at all: no test');
});

test('Welch\'s t-test reproduces the Wikipedia example (t -2.46, df 24.99, p 0.021) to SciPy\'s precision', () => {
  const summary = (xs: number[]) => {
    const s = new RunningStats();
    for (const x of xs) s.add(x);
    return s.summary();
  };
  const a = summary([27.5, 21.0, 19.0, 23.6, 17.0, 17.9, 16.9, 20.1, 21.9, 22.6, 23.1, 19.6, 19.0, 21.7, 21.4]);
  const b = summary([27.1, 22.0, 20.8, 23.4, 23.4, 23.5, 25.8, 22.0, 24.8, 20.2, 21.9, 22.1, 22.9, 20.5, 24.4]);
  const r = welchTTest(a, b);
  close(r.t, -2.455356398286006, 1e-9, 't');
  close(r.df, 24.988529290231416, 1e-9, 'df');
  close(r.pValue, 0.021378001462866992, 1e-8, 'p');
  assert.ok(Number.isNaN(welchTTest({ n: 1, mean: 1, variance: 0 }, b).pValue));
});

test('sample size: the seed\'s example (baseline 10 %, +2 points, alpha 0.05, power 0.8) needs 3841 per variant', () => {
  assert.equal(sampleSizePerVariant(0.1, 0.02, 0.05, 0.8), 3841);
  // a larger effect needs fewer, more power needs more
  assert.ok(sampleSizePerVariant(0.1, 0.05, 0.05, 0.8) < 1000);
  assert.ok(sampleSizePerVariant(0.1, 0.02, 0.05, 0.9) > 3841);
});
