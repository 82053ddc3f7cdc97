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
  /** Workers of `serve --workers N`: one probes, all apply its results. Unset: this process probes. */
  readonly healthProbes?: HealthProbeSharing;
}

export interface HealthProbeSharing {
  /** Whether this process runs the active health checks. */
  readonly isProbing: boolean;
  /** Hands a result of this process's checks on to the others (which call Runtime.applyHealthProbe). */
  readonly publish: (backendKey: string, isSuccess: boolean) => void;
}
