import type { Clock } from '../core/clock.ts';
import type { Rng } from '../core/rng.ts';
import type { Logger } from '../log/logger.ts';
import type { Metrics } from '../metrics/catalogue.ts';

/** What the runtime and its helpers are given, never reach for. */
export interface RuntimeDeps {
  readonly clock: Clock;
  readonly rng: Rng;
  readonly metrics: Metrics;
  readonly logger: Logger;
}
