// The registry: one strategy instance per pool and generation, built from the configured algorithm.
import type { Algorithm, Balancer } from './balancer.ts';
import type { Rng } from '../core/rng.ts';
import { createAdaptive } from './adaptive.ts';
import { createFastestResponseTime } from './fastest-response-time.ts';
import { createIpHash } from './ip-hash.ts';
import { createLeastConnections } from './least-connections.ts';
import { createPowerOfTwo } from './power-of-two.ts';
import { createRandom } from './random.ts';
import { createRoundRobin } from './round-robin.ts';
import { createWeightedRoundRobin } from './weighted-round-robin.ts';

export interface BalancerOptions {
  /** adaptive only: see adaptive.ts. */
  readonly errorPenalty?: number;
}

export function createBalancer(algorithm: Algorithm, deps: { readonly rng: Rng }, options: BalancerOptions = {}): Balancer {
  switch (algorithm) {
    case 'round_robin':
      return createRoundRobin();
    case 'weighted_round_robin':
      return createWeightedRoundRobin();
    case 'least_connections':
      return createLeastConnections(deps);
    case 'ip_hash':
      return createIpHash();
    case 'fastest_response_time':
      return createFastestResponseTime(deps);
    case 'power_of_two':
      return createPowerOfTwo(deps);
    case 'random':
      return createRandom(deps);
    case 'adaptive':
      return createAdaptive(deps, options);
    default: {
      // Exhaustive: adding an algorithm to Algorithms without a case here fails type checking.
      const unknown: never = algorithm;
      throw new RangeError(`unknown balancing algorithm: ${String(unknown)}`);
    }
  }
}
