// Jittered exponential backoff ("full jitter", AWS architecture blog): a random delay in
// [0, min(cap, base * 2^retry)), so that clients retrying together do not retry in lockstep.
import type { Rng } from '../core/rng.ts';

export interface BackoffOptions {
  readonly baseMs: number;
  readonly maxMs: number;
}

/** retry is 0 for the first retry. */
export function backoffDelayMs(retry: number, options: BackoffOptions, rng: Rng): number {
  const ceiling = Math.min(options.maxMs, options.baseMs * 2 ** retry);
  return rng.next() * ceiling;
}
