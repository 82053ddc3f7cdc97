// Passive health: ejects a backend that keeps failing real traffic (Envoy outlier detection,
// consecutive_5xx and consecutive_gateway_failure). Pure: every call is given `now`.
import { isGatewayFailure, isServerFailure } from '../core/outcome.ts';
import type { Outcome } from '../core/outcome.ts';

export interface OutlierDetectorOptions {
  /** Consecutive 5xx or transport errors that eject a backend; 0 disables the rule. */
  readonly consecutive5xx: number;
  /** Consecutive 502/503/504 or transport errors that eject a backend; 0 disables the rule. */
  readonly consecutiveGatewayFailure: number;
  readonly baseEjectionTimeMs: number;
  readonly maxEjectionTimeMs: number;
  /** Ejections never leave more than this share of the known backends ejected. */
  readonly maxEjectionPercent: number;
  /**
   * Tighten both thresholds by the predicted retry share of the backend's failures: when clients
   * retry a failure with probability r, each failure brings 1 / (1 - r) attempts, so the errors
   * pile up that much faster and the threshold is scaled by (1 - r), never below 2.
   */
  readonly isTightenedByPredictedRetries?: boolean;
}

/** Prediction alone never ejects on a single failure. */
const MIN_TIGHTENED_LIMIT = 2;

/** A threshold scaled by (1 - predicted retry share of failures), at least MIN_TIGHTENED_LIMIT. */
export function tightenedLimit(limit: number, predictedRetryShare: number): number {
  if (limit <= 0 || !(predictedRetryShare > 0)) return limit;
  const share = Math.min(predictedRetryShare, 1);
  return Math.min(limit, Math.max(MIN_TIGHTENED_LIMIT, Math.ceil(limit * (1 - share))));
}

export const OutlierRule = {
  consecutive5xx: 'consecutive_5xx',
  consecutiveGatewayFailure: 'consecutive_gateway_failure',
} as const;
export type OutlierRule = (typeof OutlierRule)[keyof typeof OutlierRule];

/** For metrics and logs: Envoy's ejections_enforced_* and ejections_overflow. */
export type OutlierEvent =
  | { readonly type: 'ejected'; readonly id: string; readonly rule: OutlierRule; readonly ejectedUntil: number }
  | { readonly type: 'ejection_overflow'; readonly id: string; readonly rule: OutlierRule }
  | { readonly type: 'unejected'; readonly id: string };

export interface OutlierDetectorDeps {
  readonly onEvent?: (event: OutlierEvent) => void;
}

export interface OutlierSnapshot {
  readonly id: string;
  readonly isEjected: boolean;
  /** End of the current ejection; undefined when not ejected. */
  readonly ejectedUntil: number | undefined;
  /** The ejection-time multiplier: grows with each ejection, decays while healthy. */
  readonly timesEjected: number;
  readonly consecutive5xx: number;
  readonly consecutiveGatewayFailure: number;
}

export interface OutlierDetector {
  /**
   * Counts one attempt's outcome; returns 'ejected' when this outcome ejected the backend.
   * predictedRetryShare: how likely clients retry this backend's failures (the retry model's EWMA).
   */
  record(id: string, outcome: Outcome, now: number, predictedRetryShare?: number): 'ejected' | undefined;
  /** The backends that count for maxEjectionPercent; state of backends that left is dropped. */
  setMembers(ids: readonly string[]): void;
  isEjected(id: string, now: number): boolean;
  /** Un-ejects backends whose ejection is over; returns their ids, each reported once. */
  sweep(now: number): string[];
  ejectedCount(now: number): number;
  snapshot(now: number): OutlierSnapshot[];
}

interface BackendState {
  consecutive5xx: number;
  consecutiveGatewayFailure: number;
  /** Multiplier as of the last ejection (or last sweep); the decay since then is computed lazily. */
  timesEjected: number;
  /** End of the current or last unswept ejection. Stays set after it passes until sweep. */
  ejectedUntil: number | undefined;
  /** Start of the healthy stretch that decays timesEjected, once the ejection was swept. */
  healthySince: number;
}

function assertNonNegativeInteger(name: string, value: number): void {
  if (!Number.isInteger(value) || value < 0) throw new RangeError(`${name} must be an integer >= 0, got ${value}`);
}

function validate(options: OutlierDetectorOptions): void {
  assertNonNegativeInteger('consecutive5xx', options.consecutive5xx);
  assertNonNegativeInteger('consecutiveGatewayFailure', options.consecutiveGatewayFailure);
  if (!(options.baseEjectionTimeMs > 0)) throw new RangeError('baseEjectionTimeMs must be > 0');
  if (!(options.maxEjectionTimeMs >= 0)) throw new RangeError('maxEjectionTimeMs must be >= 0');
  if (!(options.maxEjectionPercent >= 0 && options.maxEjectionPercent <= 100)) {
    throw new RangeError('maxEjectionPercent must be in [0, 100]');
  }
}

function isEjectedAt(state: BackendState, now: number): boolean {
  return state.ejectedUntil !== undefined && now < state.ejectedUntil;
}

export function createOutlierDetector(options: OutlierDetectorOptions, deps: OutlierDetectorDeps = {}): OutlierDetector {
  validate(options);
  const baseMs = options.baseEjectionTimeMs;
  // As in Envoy, the cap is never below one base ejection time.
  const maxMs = Math.max(baseMs, options.maxEjectionTimeMs);
  // The multiplier stops growing once it reaches the cap (Envoy's eject_time_backoff), so a
  // backend that recovers after a long outage is not punished for hours of decay.
  const maxTimesEjected = Math.ceil(maxMs / baseMs);
  const states = new Map<string, BackendState>();
  const emit = deps.onEvent ?? (() => {});

  function timesEjectedAt(state: BackendState, now: number): number {
    if (isEjectedAt(state, now)) return state.timesEjected;
    const healthySince = state.ejectedUntil ?? state.healthySince;
    const decay = Math.floor(Math.max(0, now - healthySince) / baseMs);
    return Math.max(0, state.timesEjected - decay);
  }

  function countEjected(now: number): number {
    let count = 0;
    for (const state of states.values()) if (isEjectedAt(state, now)) count++;
    return count;
  }

  function tryEject(id: string, state: BackendState, rule: OutlierRule, now: number): 'ejected' | undefined {
    // Each bout of failures gets one decision, as in Envoy: a refused ejection is retried only
    // after another full run of failures.
    state.consecutive5xx = 0;
    state.consecutiveGatewayFailure = 0;
    if (100 * (countEjected(now) + 1) > options.maxEjectionPercent * states.size) {
      emit({ type: 'ejection_overflow', id, rule });
      return undefined;
    }
    const times = Math.min(maxTimesEjected, timesEjectedAt(state, now) + 1);
    state.timesEjected = times;
    state.ejectedUntil = now + Math.min(baseMs * times, maxMs);
    emit({ type: 'ejected', id, rule, ejectedUntil: state.ejectedUntil });
    return 'ejected';
  }

  return {
    record(id, outcome, now, predictedRetryShare = 0) {
      const state = states.get(id);
      // Unknown: a backend that already left; recording it would resurrect its state.
      // Ejected: late answers of requests sent before the ejection must not extend it, and the
      // counters start from zero when it ends.
      if (state === undefined || isEjectedAt(state, now)) return undefined;
      // A client that went away says nothing about the backend: neither a failure nor a success.
      if (outcome.errorKind === 'aborted') return undefined;
      state.consecutive5xx = isServerFailure(outcome) ? state.consecutive5xx + 1 : 0;
      state.consecutiveGatewayFailure = isGatewayFailure(outcome) ? state.consecutiveGatewayFailure + 1 : 0;
      const share = options.isTightenedByPredictedRetries === true ? predictedRetryShare : 0;
      const gatewayLimit = tightenedLimit(options.consecutiveGatewayFailure, share);
      if (gatewayLimit > 0 && state.consecutiveGatewayFailure >= gatewayLimit) {
        return tryEject(id, state, OutlierRule.consecutiveGatewayFailure, now);
      }
      const serverLimit = tightenedLimit(options.consecutive5xx, share);
      if (serverLimit > 0 && state.consecutive5xx >= serverLimit) {
        return tryEject(id, state, OutlierRule.consecutive5xx, now);
      }
      return undefined;
    },

    setMembers(ids) {
      const wanted = new Set(ids);
      for (const id of states.keys()) if (!wanted.has(id)) states.delete(id);
      for (const id of wanted) {
        if (!states.has(id)) {
          states.set(id, { consecutive5xx: 0, consecutiveGatewayFailure: 0, timesEjected: 0, ejectedUntil: undefined, healthySince: 0 });
        }
      }
    },

    isEjected(id, now) {
      const state = states.get(id);
      return state !== undefined && isEjectedAt(state, now);
    },

    sweep(now) {
      const ended: string[] = [];
      for (const [id, state] of states) {
        if (state.ejectedUntil === undefined || isEjectedAt(state, now)) continue;
        // Decay counts from when the ejection ended, not from when sweep happened to run.
        state.healthySince = state.ejectedUntil;
        state.ejectedUntil = undefined;
        ended.push(id);
        emit({ type: 'unejected', id });
      }
      return ended;
    },

    ejectedCount(now) {
      return countEjected(now);
    },

    snapshot(now) {
      return [...states].map(([id, state]) => {
        const isEjected = isEjectedAt(state, now);
        return {
          id,
          isEjected,
          ejectedUntil: isEjected ? state.ejectedUntil : undefined,
          timesEjected: timesEjectedAt(state, now),
          consecutive5xx: state.consecutive5xx,
          consecutiveGatewayFailure: state.consecutiveGatewayFailure,
        };
      });
    },
  };
}
