// A/B experiments, pure: sticky assignment of a key to a variant by hashing it into the weights,
// per-variant tallies with fixed memory, and the report (effect sizes, tests, sample size).
import { fnv1a32 } from '../core/hash.ts';
import { chiSquareTest, RunningStats, sampleSizePerVariant, welchTTest } from './statistics.ts';

export interface VariantSpec {
  readonly name: string;
  readonly pool: string;
  readonly weight: number;
}

export interface ExperimentSpec {
  readonly name: string;
  readonly pool: string;
  readonly key: string;
  readonly variants: readonly VariantSpec[];
  readonly alpha: number;
  readonly power: number;
  readonly minDetectableEffect: number;
}

/**
 * A uniform number in [0, 1) from the experiment's name and the key: the same key lands in the same
 * variant on every instance and after every restart, and different experiments shuffle independently.
 */
export function assignmentPoint(experiment: string, key: string): number {
  return fnv1a32(`${experiment}\u0000${key}`) / 4294967296;
}

/** The index of the variant whose cumulative weight first exceeds u x total. */
export function variantIndex(variants: readonly VariantSpec[], u: number): number {
  const total = variants.reduce((s, v) => s + v.weight, 0);
  const x = u * total;
  let cumulative = 0;
  for (let i = 0; i < variants.length; i++) {
    cumulative += variants[i]?.weight ?? 0;
    if (x < cumulative) return i;
  }
  return variants.length - 1;
}

/** One variant's counts: success = a response below 500 without a transport error. */
export class VariantTally {
  trials = 0;
  successes = 0;
  readonly latency = new RunningStats();

  record(isSuccess: boolean, latencyMs: number): void {
    this.trials++;
    if (isSuccess) this.successes++;
    this.latency.add(latencyMs);
  }

  toJSON() {
    return { trials: this.trials, successes: this.successes, latency: this.latency.toJSON() };
  }

  /** Continues from toJSON()'s output; false (and nothing changed) when it is not one. */
  restore(value: unknown): boolean {
    const v = value as { trials?: unknown; successes?: unknown; latency?: unknown } | null;
    if (typeof v?.trials !== 'number' || typeof v.successes !== 'number' || v.successes > v.trials || v.successes < 0) return false;
    if (!this.latency.restore(v.latency)) return false;
    this.trials = v.trials;
    this.successes = v.successes;
    return true;
  }
}

export interface VariantReport {
  readonly name: string;
  readonly pool: string;
  readonly weight: number;
  readonly requests: number;
  readonly successRate: number;
  readonly latencyMeanMs: number;
  readonly latencySdMs: number;
  /** Against the control; absent for the control itself. */
  readonly vsControl?: {
    readonly successRateDiff: number;
    readonly successRateLift: number;
    readonly latencyDiffMs: number;
    /** Cohen's d of latency (difference over the pooled standard deviation). */
    readonly latencyEffectSize: number;
    readonly welchT: number;
    readonly welchDf: number;
    readonly latencyPValue: number;
    readonly isLatencySignificant: boolean;
  };
}

export interface ExperimentReport {
  readonly name: string;
  readonly pool: string;
  readonly key: string;
  readonly alpha: number;
  readonly power: number;
  readonly minDetectableEffect: number;
  readonly variants: readonly VariantReport[];
  readonly successRates: { readonly chiSquare: number; readonly df: number; readonly pValue: number; readonly isSignificant: boolean };
  /** Per variant, to detect minDetectableEffect from the control's success rate at alpha and power. */
  readonly requiredPerVariant: number;
  readonly isSampleEnough: boolean;
}

const rate = (t: VariantTally): number => (t.trials === 0 ? NaN : t.successes / t.trials);

/** The sample each variant needs; a baseline so near 1 that +effect cannot exist asks about a drop. */
export function requiredSample(baseline: number, effect: number, alpha: number, power: number): number {
  const p = Number.isFinite(baseline) ? baseline : 0.5;
  const from = p + effect < 1 ? p : p - effect;
  return sampleSizePerVariant(Math.max(from, 1e-6), effect, alpha, power);
}

export function experimentReport(spec: ExperimentSpec, tallies: readonly VariantTally[]): ExperimentReport {
  const control = tallies[0] ?? new VariantTally();
  const variants = spec.variants.map((v, i): VariantReport => {
    const t = tallies[i] ?? new VariantTally();
    const base = { name: v.name, pool: v.pool, weight: v.weight, requests: t.trials, successRate: rate(t), latencyMeanMs: t.latency.mean, latencySdMs: Math.sqrt(t.latency.variance) };
    if (i === 0) return base;
    const welch = welchTTest(t.latency.summary(), control.latency.summary());
    const pooledSd = Math.sqrt((t.latency.variance + control.latency.variance) / 2);
    return {
      ...base,
      vsControl: {
        successRateDiff: rate(t) - rate(control),
        successRateLift: (rate(t) - rate(control)) / rate(control),
        latencyDiffMs: t.latency.mean - control.latency.mean,
        latencyEffectSize: pooledSd === 0 ? NaN : (t.latency.mean - control.latency.mean) / pooledSd,
        welchT: welch.t,
        welchDf: welch.df,
        latencyPValue: welch.pValue,
        isLatencySignificant: welch.pValue < spec.alpha,
      },
    };
  });
  const chi = chiSquareTest(tallies.map((t) => ({ successes: t.successes, trials: t.trials })));
  const requiredPerVariant = requiredSample(rate(control), spec.minDetectableEffect, spec.alpha, spec.power);
  return {
    name: spec.name,
    pool: spec.pool,
    key: spec.key,
    alpha: spec.alpha,
    power: spec.power,
    minDetectableEffect: spec.minDetectableEffect,
    variants,
    successRates: { chiSquare: chi.statistic, df: chi.df, pValue: chi.pValue, isSignificant: chi.pValue < spec.alpha },
    requiredPerVariant,
    isSampleEnough: tallies.length > 0 && tallies.every((t, i) => t.trials >= requiredPerVariant || (spec.variants[i]?.weight ?? 0) === 0),
  };
}
