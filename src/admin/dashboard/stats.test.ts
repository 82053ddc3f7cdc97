// The page's arithmetic, run in Node: a wrong rate or percentile would show on the dashboard as a
// plausible but false figure, which no browser test would notice.
import assert from 'node:assert/strict';
import { test } from 'node:test';

interface Snap {
  atMs: number;
  n: number;
}
interface Stats {
  windowStart(snapshots: Snap[], seconds: number): Snap | undefined;
  rate(from: Snap | undefined, to: Snap, pick: (s: Snap) => number): number | null;
  ratio(from: Snap | undefined, to: Snap, numerator: (s: Snap) => number, denominator: (s: Snap) => number): number | null;
  deltaBuckets(from: { counts: number[] } | undefined, to: { counts: number[] }): number[];
  quantile(q: number, le: (number | null)[], cumulative: number[]): number | null;
  bucketShares(cumulative: number[]): number[];
  fixed(v: number | null | undefined, digits: number): string;
  millis(v: number | null | undefined): string;
}

// a browser module without type declarations: imported by URL, typed here
const stats = (await import(new URL('./stats.js', import.meta.url).href)) as Stats;

test('a window starts at the oldest snapshot inside it, and needs two snapshots', () => {
  const snaps = [0, 1000, 2000, 3000, 4000, 5000, 6000].map((atMs) => ({ atMs, n: atMs / 10 }));
  assert.equal(stats.windowStart(snaps, 5)?.atMs, 1000);
  assert.equal(stats.windowStart(snaps.slice(0, 1), 5), undefined);
  assert.equal(stats.windowStart([], 5), undefined);
  // a gap longer than the window: no rate rather than one over the wrong span
  assert.equal(stats.windowStart([{ atMs: 0, n: 0 }, { atMs: 60_000, n: 9 }], 5), undefined);
});

test('rates and ratios come from counter growth; no window gives null, not zero', () => {
  const a = { atMs: 1000, n: 100 };
  const b = { atMs: 3000, n: 180 };
  assert.equal(stats.rate(a, b, (s) => s.n), 40);
  assert.equal(stats.rate(undefined, b, (s) => s.n), null);
  assert.equal(stats.ratio(a, b, (s) => s.n / 4, (s) => s.n), 0.25);
  assert.equal(stats.ratio(a, { atMs: 3000, n: 100 }, (s) => s.n, (s) => s.n), null);
});

test('percentiles interpolate inside their bucket as histogram_quantile does', () => {
  const le = [0.01, 0.1, 1, null];
  // 50 observations <= 10 ms, 40 in (10, 100] ms, 10 in (100 ms, 1 s]
  const cumulative = [50, 90, 100, 100];
  assert.equal(stats.quantile(0.5, le, cumulative), 0.01);
  assert.ok(Math.abs((stats.quantile(0.7, le, cumulative) as number) - 0.055) < 1e-12);
  assert.ok(Math.abs((stats.quantile(0.99, le, cumulative) as number) - 0.91) < 1e-12);
  assert.equal(stats.quantile(0.99, le, [0, 0, 0, 10]), 1, 'in the +Inf bucket: the highest finite bound');
  assert.equal(stats.quantile(0.5, le, [0, 0, 0, 0]), null);
});

test('a window of a histogram is the growth of each cumulative bucket', () => {
  assert.deepEqual(stats.deltaBuckets({ counts: [1, 5, 9] }, { counts: [3, 8, 20] }), [2, 3, 11]);
  assert.deepEqual(stats.deltaBuckets(undefined, { counts: [3, 8] }), [3, 8]);
  assert.deepEqual(stats.bucketShares([2, 3, 4]), [0.5, 0.25, 0.25]);
  assert.deepEqual(stats.bucketShares([0, 0]), [0, 0]);
});

test('missing values show as a dash, never NaN or null', () => {
  for (const v of [null, undefined, Number.NaN, Infinity]) {
    assert.equal(stats.fixed(v, 2), '–');
    assert.equal(stats.millis(v), '–');
  }
  assert.equal(stats.millis(4.26), '4.3 ms');
  assert.equal(stats.millis(123.4), '123 ms');
});
