// Adaptive: power of two choices over peak-EWMA x in-flight, with a penalty for failing backends
// and the retry model's predicted retry cost of sending the request there.
//
// Why the penalty: a latency-only balancer (Linkerd's, Finagle's) falls into a known trap. A backend
// that fails fast (502 in 1 ms: connection refused, empty pool, crashing handler) has the lowest
// latency of the pool, so it attracts more and more traffic, and each of its failures turns into a
// client retry. The error EWMA must therefore make such a backend look expensive, not cheap.
import type { Balancer, Candidate, PickRequest } from './balancer.ts';
import type { Rng } from '../core/rng.ts';
import { pickBetterOfTwo } from './pick-better-of-two.ts';
import { peakEwmaCost } from './power-of-two.ts';

export const DEFAULT_ERROR_PENALTY = 10;

/** Caps the failure odds so that a backend failing everything stays finite and comparable. */
const MAX_ERROR_RATE = 0.999;
/** Caps the predicted retry share likewise: at most 100 expected client attempts per request. */
const MAX_RETRY_SHARE = 0.99;

export interface AdaptiveOptions {
  /** Cost of one failed attempt, in units of the backend's own latency cost. >= 0; default 10. */
  readonly errorPenalty?: number;
}

/**
 * cost = peakEwmaCost x (1 + errorPenalty x e / (1 - e)), e = errorEwma.
 * e / (1 - e) is the expected number of failed attempts per success when each failure is retried
 * (geometric), so the factor is "what one success costs, counting the failures before it". For a
 * small e it equals the plain 1 + errorPenalty x e; for a large e it grows without bound, which a
 * linear factor does not: with 1 + 10 x e, a backend failing 90 % of requests in 1 ms (cost 10)
 * would still beat a healthy one at 20 ms. Here it costs 91 and loses.
 *
 * Then x 1 / (1 - r), r = the predicted probability that a client retries this backend's answers
 * (predictedRetryEwma): the expected client attempts per request answered here. It sees what the
 * error EWMA does not: answers that are not 5xx but still make clients come back (slow 200s
 * they gave up on, 429s, timeouts on their side), and clients that retry one backend's errors more
 * than another's. Without a model r is 0 and the factor is 1.
 */
function createAdaptiveCost(errorPenalty: number): (candidate: Candidate) => number {
  return (candidate) => {
    const e = candidate.errorEwma;
    const r = candidate.predictedRetryEwma ?? 0;
    let cost = peakEwmaCost(candidate);
    if (e > 0) {
      const rate = e < MAX_ERROR_RATE ? e : MAX_ERROR_RATE;
      cost *= 1 + (errorPenalty * rate) / (1 - rate);
    }
    if (r > 0) cost /= 1 - (r < MAX_RETRY_SHARE ? r : MAX_RETRY_SHARE);
    return cost;
  };
}

export function createAdaptive(deps: { readonly rng: Rng }, options: AdaptiveOptions = {}): Balancer {
  const errorPenalty = options.errorPenalty ?? DEFAULT_ERROR_PENALTY;
  // A bad value here is a bug upstream (config validation owns user input), hence a throw.
  if (!(errorPenalty >= 0) || !Number.isFinite(errorPenalty)) {
    throw new RangeError(`adaptive: errorPenalty must be a finite number >= 0, got ${errorPenalty}`);
  }
  const { rng } = deps;
  const cost = createAdaptiveCost(errorPenalty);
  return {
    pick(_request: PickRequest, candidates: readonly Candidate[]): Candidate | undefined {
      return pickBetterOfTwo(candidates, rng, cost);
    },
  };
}
