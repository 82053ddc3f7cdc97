// FTRL-Proximal for logistic regression (McMahan et al., KDD 2013, "Ad Click Prediction: a View
// from the Trenches", Algorithm 1), as pure maths on typed arrays. One coordinate per hashed feature;
// each keeps its own z (accumulated adjusted gradient) and n (sum of squared gradients), which gives
// it its own learning rate alpha / (beta + sqrt(n)). L1 keeps rarely-seen coordinates at exactly 0.

export interface FtrlParams {
  /** Learning-rate scale: a coordinate's rate is alpha / (beta + sqrt(n)). */
  readonly alpha: number;
  /** Smooths the rate of fresh coordinates (n close to 0). */
  readonly beta: number;
  /** L1 strength: a coordinate whose |z| stays at or below l1 has weight exactly 0. */
  readonly l1: number;
  /** L2 strength. */
  readonly l2: number;
}

export interface FtrlState {
  readonly z: Float64Array;
  readonly n: Float64Array;
  /**
   * Materialised weights, kept in step with z and n for every touched coordinate, so that a
   * prediction is a plain dot product (no sqrt, no branch on l1).
   */
  readonly w: Float64Array;
}

/** Probabilities are kept in [P_MIN, P_MAX]: log loss stays finite and gradients stay bounded. */
export const P_MIN = 1e-7;
export const P_MAX = 1 - 1e-7;

export function createFtrlState(size: number): FtrlState {
  if (!Number.isInteger(size) || size <= 0) throw new RangeError(`FTRL state size must be a positive integer, got ${size}`);
  return { z: new Float64Array(size), n: new Float64Array(size), w: new Float64Array(size) };
}

/** The closed-form weight of one coordinate (Algorithm 1, "compute w_i"). */
export function ftrlWeight(z: number, n: number, params: FtrlParams): number {
  const { l1 } = params;
  if (Math.abs(z) <= l1) return 0;
  const shrunk = z > 0 ? z - l1 : z + l1;
  return -shrunk / ((params.beta + Math.sqrt(n)) / params.alpha + params.l2);
}

/** Sparse dot product of the first `count` (index, value) pairs with the weights. */
export function predictLinear(state: FtrlState, indices: Uint32Array, values: Float64Array, count: number): number {
  const w = state.w;
  let sum = 0;
  for (let k = 0; k < count; k++) sum += (w[indices[k]!] ?? 0) * values[k]!;
  return sum;
}

/** The logistic function, clamped to [P_MIN, P_MAX]; NaN in gives 0.5 out, never NaN. */
export function sigmoid(x: number): number {
  let p: number;
  if (x >= 0) {
    p = 1 / (1 + Math.exp(-x));
  } else if (x < 0) {
    // exp of a negative number cannot overflow
    const e = Math.exp(x);
    p = e / (1 + e);
  } else {
    return 0.5;
  }
  return p < P_MIN ? P_MIN : p > P_MAX ? P_MAX : p;
}

/**
 * One FTRL step on the logistic loss for the example (indices, values) that was predicted `p`
 * and turned out `y`. Updates z, n and w of the touched coordinates in place.
 *
 * An index that occurs twice in one example (a hash collision) is updated twice in sequence, which
 * is not exactly one update with the summed gradient; with 2^18 buckets and ~30 features per
 * example it is rare enough not to matter.
 */
export function ftrlUpdate(
  state: FtrlState,
  params: FtrlParams,
  indices: Uint32Array,
  values: Float64Array,
  count: number,
  p: number,
  y: number,
): void {
  const { z, n, w } = state;
  const { alpha } = params;
  const residual = p - y;
  for (let k = 0; k < count; k++) {
    const i = indices[k]!;
    const g = residual * values[k]!;
    if (g === 0) continue;
    const nOld = n[i]!;
    const nNew = nOld + g * g;
    const sigma = (Math.sqrt(nNew) - Math.sqrt(nOld)) / alpha;
    const zNew = z[i]! + g - sigma * w[i]!;
    z[i] = zNew;
    n[i] = nNew;
    w[i] = ftrlWeight(zNew, nNew, params);
  }
}
