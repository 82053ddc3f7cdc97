// Active health as a two-state machine with hysteresis (HAProxy's rise/fall, Envoy's
// healthy_threshold/unhealthy_threshold): one stray probe result must not flap a backend.

export interface HealthStateOptions {
  /** Consecutive successes that bring an unhealthy backend back. */
  readonly healthyThreshold: number;
  /** Consecutive failures that take a healthy backend out. */
  readonly unhealthyThreshold: number;
}

export interface HealthState {
  readonly isHealthy: boolean;
  /** Records one check result; returns true when it changed the state. */
  record(success: boolean): boolean;
  /** New thresholds (a reload); the current state and streak are kept. */
  reconfigure(options: HealthStateOptions): void;
}

function assertThreshold(name: string, value: number): void {
  if (!Number.isInteger(value) || value < 1) {
    throw new RangeError(`${name} must be an integer >= 1, got ${value}`);
  }
}

export function createHealthState(options: HealthStateOptions, initiallyHealthy = true): HealthState {
  assertThreshold('healthyThreshold', options.healthyThreshold);
  assertThreshold('unhealthyThreshold', options.unhealthyThreshold);
  let { healthyThreshold, unhealthyThreshold } = options;
  let isHealthy = initiallyHealthy;
  // Only the streak that could flip the current state matters; a result that confirms the
  // current state breaks it.
  let streak = 0;

  return {
    get isHealthy() {
      return isHealthy;
    },
    record(success) {
      if (success === isHealthy) {
        streak = 0;
        return false;
      }
      streak++;
      if (streak < (isHealthy ? unhealthyThreshold : healthyThreshold)) return false;
      isHealthy = !isHealthy;
      streak = 0;
      return true;
    },
    reconfigure(next) {
      assertThreshold('healthyThreshold', next.healthyThreshold);
      assertThreshold('unhealthyThreshold', next.unhealthyThreshold);
      ({ healthyThreshold, unhealthyThreshold } = next);
    },
  };
}
