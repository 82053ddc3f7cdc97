import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { createSeededRng } from '../core/rng.ts';
import { createFtrlState, ftrlUpdate, ftrlWeight, P_MAX, P_MIN, predictLinear, sigmoid } from './ftrl.ts';
import type { FtrlParams } from './ftrl.ts';

const close = (actual: number, expected: number, eps = 1e-12): void => {
  assert.ok(Math.abs(actual - expected) <= eps, `expected ${expected}, got ${actual}`);
};

test('ftrlWeight: 0 inside the L1 ball, the proximal closed form outside it', () => {
  const params: FtrlParams = { alpha: 0.5, beta: 1, l1: 0.1, l2: 1 };
  assert.equal(ftrlWeight(0.1, 4, params), 0);
  assert.equal(ftrlWeight(-0.1, 4, params), 0);
  // -(-3 + 0.1) / ((1 + sqrt(9)) / 0.5 + 1) = 2.9 / 9
  close(ftrlWeight(-3, 9, params), 2.9 / 9);
  // the sign follows -z
  close(ftrlWeight(3, 9, params), -2.9 / 9);
});

// Two features, x = (6, 8), alpha = 1, beta = 1, l1 = 0.1, l2 = 1. Values are chosen so that
// every sqrt is exact.
//
// Step 1: w = (0, 0), p = sigmoid(0) = 0.5, y = 1.
//   g = (0.5 - 1) * x = (-3, -4); n = (9, 16); sigma = (3, 4) but w = 0 so z = g = (-3, -4).
//   w0 = -(-3 + 0.1) / ((1 + 3) / 1 + 1) = 2.9 / 5 = 0.58
//   w1 = -(-4 + 0.1) / ((1 + 4) / 1 + 1) = 3.9 / 6 = 0.65
// Between the steps: x . w = 6 * 0.58 + 8 * 0.65 = 3.48 + 5.2 = 8.68.
// Step 2: p = 2/3 (given, so that the numbers stay exact), y = 0.
//   g = (2/3) * x = (4, 16/3); n = (9 + 16, 16 + 256/9) = (25, 400/9)
//   sigma0 = (5 - 3) / 1 = 2;        z0 = -3 + 4 - 2 * 0.58 = -0.16
//   sigma1 = (20/3 - 4) / 1 = 8/3;   z1 = -4 + 16/3 - (8/3) * 0.65 = -0.4
//   w0 = -(-0.16 + 0.1) / ((1 + 5) + 1) = 0.06 / 7
//   w1 = -(-0.4 + 0.1) / ((1 + 20/3) + 1) = 0.3 / (26/3) = 0.9 / 26
test('ftrlUpdate: matches a hand-computed 2-feature, 2-step example', () => {
  const params: FtrlParams = { alpha: 1, beta: 1, l1: 0.1, l2: 1 };
  const state = createFtrlState(4);
  // arrays longer than count: the extra slot must be ignored
  const indices = Uint32Array.of(0, 1, 3);
  const values = Float64Array.of(6, 8, 100);

  const p1 = sigmoid(predictLinear(state, indices, values, 2));
  assert.equal(p1, 0.5);
  ftrlUpdate(state, params, indices, values, 2, p1, 1);
  close(state.z[0]!, -3);
  close(state.z[1]!, -4);
  close(state.n[0]!, 9);
  close(state.n[1]!, 16);
  close(state.w[0]!, 0.58);
  close(state.w[1]!, 0.65);
  assert.equal(state.n[3], 0);

  close(predictLinear(state, indices, values, 2), 8.68);

  ftrlUpdate(state, params, indices, values, 2, 2 / 3, 0);
  close(state.n[0]!, 25);
  close(state.n[1]!, 400 / 9);
  close(state.z[0]!, -0.16);
  close(state.z[1]!, -0.4);
  close(state.w[0]!, 0.06 / 7);
  close(state.w[1]!, 0.9 / 26);
  assert.equal(state.z[3], 0);
  assert.equal(state.w[3], 0);
});

test('sigmoid: symmetric, clamped, never NaN', () => {
  assert.equal(sigmoid(0), 0.5);
  close(sigmoid(2) + sigmoid(-2), 1);
  close(sigmoid(1), 1 / (1 + Math.exp(-1)));
  assert.equal(sigmoid(1e6), P_MAX);
  assert.equal(sigmoid(-1e6), P_MIN);
  assert.equal(sigmoid(Infinity), P_MAX);
  assert.equal(sigmoid(-Infinity), P_MIN);
  assert.equal(sigmoid(Number.NaN), 0.5);
  fc.assert(
    fc.property(fc.double(), (x) => {
      const p = sigmoid(x);
      return p >= P_MIN && p <= P_MAX;
    }),
  );
});

test('L1 keeps rarely-seen coordinates at exactly 0 while frequent ones learn', () => {
  const params: FtrlParams = { alpha: 0.1, beta: 1, l1: 1, l2: 1 };
  const state = createFtrlState(8);
  const frequent = Uint32Array.of(0, 1);
  const rare = Uint32Array.of(0, 2);
  const ones = Float64Array.of(1, 1);
  for (let t = 0; t < 500; t++) {
    const indices = t % 250 === 0 ? rare : frequent;
    const p = sigmoid(predictLinear(state, indices, ones, 2));
    ftrlUpdate(state, params, indices, ones, 2, p, 1);
  }
  assert.ok(state.n[2]! > 0, 'the rare coordinate was touched');
  assert.equal(state.w[2], 0);
  assert.ok(state.w[1]! > 0.1, `frequent coordinate learned, w = ${state.w[1]}`);
});

test('learning a separable toy problem drives the log loss down', () => {
  // y = 1 exactly when feature 1 is on; features 2 and 3 are noise; feature 0 is a bias.
  const params: FtrlParams = { alpha: 0.5, beta: 1, l1: 0.5, l2: 0.1 };
  const state = createFtrlState(4);
  const rng = createSeededRng(7);
  const indices = new Uint32Array(3);
  const values = Float64Array.of(1, 1, 1);
  const lossOfBlock = (size: number, learn: boolean): number => {
    let loss = 0;
    for (let t = 0; t < size; t++) {
      const y = rng.next() < 0.5 ? 1 : 0;
      indices[0] = 0;
      indices[1] = y === 1 ? 1 : 2;
      indices[2] = 3;
      const p = sigmoid(predictLinear(state, indices, values, 3));
      loss -= y === 1 ? Math.log(p) : Math.log(1 - p);
      if (learn) ftrlUpdate(state, params, indices, values, 3, p, y);
    }
    return loss / size;
  };
  const first = lossOfBlock(10, true);
  lossOfBlock(2000, true);
  const last = lossOfBlock(500, false);
  assert.ok(first > 0.5, `loss over the first 10 examples ${first}`);
  assert.ok(last < 0.05 && last < first / 10, `loss after learning ${last}`);
  assert.ok(state.w[1]! > 0 && state.w[2]! < 0);
});

test('createFtrlState: refuses a size that is not a positive integer', () => {
  assert.throws(() => createFtrlState(0), RangeError);
  assert.throws(() => createFtrlState(1.5), RangeError);
});
