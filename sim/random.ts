// Draws for the simulator, all from one injected Rng so that a run is a pure function of its seed.
import type { Rng } from '../src/core/rng.ts';

export function uniform(rng: Rng, lo: number, hi: number): number {
  return lo + (hi - lo) * rng.next();
}

/** Log-uniform in [lo, hi]: as many draws between 1 and 10 as between 10 and 100. */
export function logUniform(rng: Rng, lo: number, hi: number): number {
  return lo * Math.pow(hi / lo, rng.next());
}

export function exponential(rng: Rng, mean: number): number {
  return -Math.log(1 - rng.next()) * mean;
}

/** Standard normal (Box-Muller; the second value is dropped to keep the draw count fixed). */
export function normal(rng: Rng): number {
  const u = 1 - rng.next();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng.next());
}

/** Log-normal with the given median: latencies and body sizes have long right tails. */
export function logNormal(rng: Rng, median: number, sigma: number): number {
  return median * Math.exp(sigma * normal(rng));
}

export function chance(rng: Rng, p: number): boolean {
  return rng.next() < p;
}

/** One value of a weighted table; weights need not sum to 1. */
export function pickWeighted<T>(rng: Rng, table: readonly (readonly [T, number])[]): T {
  let total = 0;
  for (const [, w] of table) total += w;
  let x = rng.next() * total;
  for (const [value, w] of table) {
    x -= w;
    if (x < 0) return value;
  }
  return (table[table.length - 1] as readonly [T, number])[0];
}

/** 16 hex digits, the shape of Sibyl's hashed client keys and fingerprints. */
export function randomHex16(rng: Rng): string {
  return hex8(Math.floor(rng.next() * 0x1_0000_0000)) + hex8(Math.floor(rng.next() * 0x1_0000_0000));
}

const BYTE_HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** 8 hex digits of a 32-bit value (a table lookup per byte: this runs several times per attempt). */
export function hex8(x: number): string {
  return (BYTE_HEX[(x >>> 24) & 0xff] as string) + (BYTE_HEX[(x >>> 16) & 0xff] as string) + (BYTE_HEX[(x >>> 8) & 0xff] as string) + (BYTE_HEX[x & 0xff] as string);
}
