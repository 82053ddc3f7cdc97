// The statistics of experiments, pure: Pearson's chi-square test of independence (success rates
// across variants), Welch's t-test (latency of two variants), and the sample size a two-proportion
// test needs. Special functions from Numerical Recipes (Press et al., 3rd ed., 6.1-6.4) and the
// normal quantile from Acklam's algorithm with one Halley refinement.

const EPS = 1e-14;
const TINY = 1e-300;
const MAX_ITERATIONS = 1000;

/** ln Γ(x) for x > 0 (Lanczos, g = 7, n = 9: ~15 significant digits). */
export function logGamma(x: number): number {
  const c = [0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7];
  if (x < 0.5) return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * x))) - logGamma(1 - x);
  const z = x - 1;
  let a = c[0] ?? 0;
  const t = z + 7.5;
  for (let i = 1; i < 9; i++) a += (c[i] ?? 0) / (z + i);
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(a);
}

/** Regularised upper incomplete gamma Q(a, x) = Γ(a, x) / Γ(a). */
export function gammaQ(a: number, x: number): number {
  if (x <= 0) return 1;
  const lead = -x + a * Math.log(x) - logGamma(a);
  if (x < a + 1) {
    // series for P, then Q = 1 - P
    let sum = 1 / a;
    let term = sum;
    for (let n = 1; n < MAX_ITERATIONS; n++) {
      term *= x / (a + n);
      sum += term;
      if (Math.abs(term) < Math.abs(sum) * EPS) break;
    }
    return Math.max(0, 1 - sum * Math.exp(lead));
  }
  // continued fraction for Q (modified Lentz)
  let b = x + 1 - a;
  let c = 1 / TINY;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < MAX_ITERATIONS; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < TINY) d = TINY;
    c = b + an / c;
    if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < EPS) break;
  }
  return Math.exp(lead) * h;
}

function betaContinuedFraction(a: number, b: number, x: number): number {
  const qab = a + b;
  const qap = a + 1;
  const qam = a - 1;
  let c = 1;
  let d = 1 - (qab * x) / qap;
  if (Math.abs(d) < TINY) d = TINY;
  d = 1 / d;
  let h = d;
  for (let m = 1; m < MAX_ITERATIONS; m++) {
    const m2 = 2 * m;
    let aa = (m * (b - m) * x) / ((qam + m2) * (a + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < TINY) d = TINY;
    c = 1 + aa / c;
    if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    h *= d * c;
    aa = (-(a + m) * (qab + m) * x) / ((a + m2) * (qap + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < TINY) d = TINY;
    c = 1 + aa / c;
    if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < EPS) break;
  }
  return h;
}

/** Regularised incomplete beta I_x(a, b). */
export function betaI(a: number, b: number, x: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const front = Math.exp(logGamma(a + b) - logGamma(a) - logGamma(b) + a * Math.log(x) + b * Math.log(1 - x));
  if (x < (a + 1) / (a + b + 2)) return (front * betaContinuedFraction(a, b, x)) / a;
  return 1 - (front * betaContinuedFraction(b, a, 1 - x)) / b;
}

/** P(X >= x) for X ~ chi-square with df degrees of freedom. */
export function chiSquareSurvival(x: number, df: number): number {
  return gammaQ(df / 2, x / 2);
}

/** Two-sided P(|T| >= |t|) for T ~ Student's t with df degrees of freedom (df may be fractional). */
export function studentTTwoSided(t: number, df: number): number {
  if (!Number.isFinite(t)) return 0;
  return betaI(df / 2, 0.5, df / (df + t * t));
}

/** Standard normal CDF via the complementary error function (erfc from gammaQ(1/2, x^2)). */
export function normalCdf(z: number): number {
  const tail = 0.5 * gammaQ(0.5, (z * z) / 2);
  return z >= 0 ? 1 - tail : tail;
}

/** Standard normal quantile (Acklam, refined once with Halley's method: ~1e-15 relative). */
export function normalQuantile(p: number): number {
  if (p <= 0) return -Infinity;
  if (p >= 1) return Infinity;
  const a = [-3.969683028665376e1, 2.209460984245205e2, -2.759285104469687e2, 1.38357751867269e2, -3.066479806614716e1, 2.506628277459239];
  const b = [-5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2, 6.680131188771972e1, -1.328068155288572e1];
  const c = [-7.784894002430293e-3, -3.223964580411365e-1, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416];
  const [a0, a1, a2, a3, a4, a5] = a as [number, number, number, number, number, number];
  const [b0, b1, b2, b3, b4] = b as [number, number, number, number, number];
  const [c0, c1, c2, c3, c4, c5] = c as [number, number, number, number, number, number];
  const [d0, d1, d2, d3] = d as [number, number, number, number];
  const low = 0.02425;
  let x: number;
  if (p < low) {
    const q = Math.sqrt(-2 * Math.log(p));
    x = (((((c0 * q + c1) * q + c2) * q + c3) * q + c4) * q + c5) / ((((d0 * q + d1) * q + d2) * q + d3) * q + 1);
  } else if (p <= 1 - low) {
    const q = p - 0.5;
    const r = q * q;
    x = ((((((a0 * r + a1) * r + a2) * r + a3) * r + a4) * r + a5) * q) / (((((b0 * r + b1) * r + b2) * r + b3) * r + b4) * r + 1);
  } else {
    const q = Math.sqrt(-2 * Math.log(1 - p));
    x = -(((((c0 * q + c1) * q + c2) * q + c3) * q + c4) * q + c5) / ((((d0 * q + d1) * q + d2) * q + d3) * q + 1);
  }
  const e = normalCdf(x) - p;
  const u = e * Math.sqrt(2 * Math.PI) * Math.exp((x * x) / 2);
  return x - u / (1 + (x * u) / 2);
}

export interface ChiSquareResult {
  readonly statistic: number;
  readonly df: number;
  readonly pValue: number;
}

/**
 * Pearson's chi-square test of independence of variant and outcome, from each variant's
 * successes and trials (a k x 2 table, no continuity correction). NaN when a margin is empty.
 */
export function chiSquareTest(groups: readonly { readonly successes: number; readonly trials: number }[]): ChiSquareResult {
  const n = groups.reduce((s, g) => s + g.trials, 0);
  const successes = groups.reduce((s, g) => s + g.successes, 0);
  const df = groups.length - 1;
  if (n === 0 || successes === 0 || successes === n || groups.some((g) => g.trials === 0)) return { statistic: NaN, df, pValue: NaN };
  let statistic = 0;
  for (const g of groups) {
    const expectedSuccess = (g.trials * successes) / n;
    const expectedFailure = g.trials - expectedSuccess;
    statistic += (g.successes - expectedSuccess) ** 2 / expectedSuccess + (g.trials - g.successes - expectedFailure) ** 2 / expectedFailure;
  }
  return { statistic, df, pValue: chiSquareSurvival(statistic, df) };
}

export interface SampleSummary {
  readonly n: number;
  readonly mean: number;
  /** Sample variance (n - 1 in the denominator). */
  readonly variance: number;
}

export interface WelchResult {
  readonly t: number;
  readonly df: number;
  readonly pValue: number;
}

/** Welch's unequal-variance t-test of a against b (two-sided); NaN with fewer than 2 samples each. */
export function welchTTest(a: SampleSummary, b: SampleSummary): WelchResult {
  if (a.n < 2 || b.n < 2) return { t: NaN, df: NaN, pValue: NaN };
  const va = a.variance / a.n;
  const vb = b.variance / b.n;
  const se = Math.sqrt(va + vb);
  if (se === 0) return { t: a.mean === b.mean ? 0 : Infinity, df: a.n + b.n - 2, pValue: a.mean === b.mean ? 1 : 0 };
  const t = (a.mean - b.mean) / se;
  const df = (va + vb) ** 2 / (va ** 2 / (a.n - 1) + vb ** 2 / (b.n - 1));
  return { t, df, pValue: studentTTwoSided(t, df) };
}

/**
 * Sample size per variant for a two-sided test of two proportions (pooled variance under H0):
 * n = (z(1-alpha/2) sqrt(2 pbar qbar) + z(power) sqrt(p1 q1 + p2 q2))^2 / (p2 - p1)^2, rounded up.
 */
export function sampleSizePerVariant(baseline: number, minDetectableEffect: number, alpha: number, power: number): number {
  const p1 = baseline;
  const p2 = baseline + minDetectableEffect;
  const pbar = (p1 + p2) / 2;
  const za = normalQuantile(1 - alpha / 2);
  const zb = normalQuantile(power);
  const root = za * Math.sqrt(2 * pbar * (1 - pbar)) + zb * Math.sqrt(p1 * (1 - p1) + p2 * (1 - p2));
  return Math.ceil((root * root) / (minDetectableEffect * minDetectableEffect));
}

/** Running count, mean and variance (Welford): fixed memory per variant. */
export class RunningStats {
  n = 0;
  mean = 0;
  #m2 = 0;

  add(x: number): void {
    this.n++;
    const delta = x - this.mean;
    this.mean += delta / this.n;
    this.#m2 += delta * (x - this.mean);
  }

  get variance(): number {
    return this.n < 2 ? 0 : this.#m2 / (this.n - 1);
  }

  summary(): SampleSummary {
    return { n: this.n, mean: this.mean, variance: this.variance };
  }

  /** What a state file keeps: enough to go on adding samples after a restart. */
  toJSON(): { n: number; mean: number; m2: number } {
    return { n: this.n, mean: this.mean, m2: this.#m2 };
  }

  /** Continues from toJSON()'s output; false (and nothing changed) when it is not one. */
  restore(value: unknown): boolean {
    const v = value as { n?: unknown; mean?: unknown; m2?: unknown } | null;
    if (typeof v?.n !== 'number' || typeof v.mean !== 'number' || typeof v.m2 !== 'number' || !Number.isInteger(v.n) || v.n < 0 || v.m2 < 0) return false;
    this.n = v.n;
    this.mean = v.mean;
    this.#m2 = v.m2;
    return true;
  }
}
