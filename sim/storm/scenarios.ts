// The retry-storm scenarios: a fleet of capacity-limited backends, open-loop client traffic at a
// fixed share of the fleet's capacity, and one trigger (a bad backend, a brownout, a load spike)
// that starts after a steady stretch and is removed before the end. Only the trigger differs,
// except in tight-concurrency (issue #20), which has its own small fleet, clients and timeline.
import { CLIENT_POLICIES, LIBRARY_CLIENT_POLICIES, type ClientPolicy } from './client-policies.ts';

export const Scales = ['small', 'full'] as const;
export type Scale = (typeof Scales)[number];

export const ScenarioNames = ['one-bad-backend', 'one-slow-backend', 'brownout', 'metastable', 'tight-concurrency'] as const;
export type ScenarioName = (typeof ScenarioNames)[number];

export interface FleetSpec {
  readonly backends: number;
  /** Requests one backend serves at once; the excess waits in its accept queue. */
  readonly workers: number;
  /** Mean service time at no load; each request takes (1 - serviceSpread)x to (1 + serviceSpread)x of it. */
  readonly serviceMs: number;
  readonly serviceSpread: number;
  /** Service time grows with the accept queue, up to 1 + contention when the backlog is full. */
  readonly contention: number;
  /** Accept queue per backend (Node's default listen backlog); beyond it, connections are refused. */
  readonly backlog: number;
}

/** What the trigger changes while it is on. */
export interface Trigger {
  /** Backends affected (indices); all of them when undefined. */
  readonly backendIndices?: readonly number[];
  /** Multiplies the workers of the affected backends (0.5 = half the capacity). */
  readonly capacityFactor?: number;
  /** Multiplies the service time of the affected backends. */
  readonly slowFactor?: number;
  /** The affected backends answer 503 at once, without doing the work. */
  readonly isFailingFast?: boolean;
  /** Multiplies the client arrival rate. */
  readonly loadFactor?: number;
}

export interface Timeline {
  /** Not measured: lets EWMAs, limiters and client buckets settle. */
  readonly warmupMs: number;
  readonly beforeMs: number;
  readonly duringMs: number;
  readonly afterMs: number;
}

export interface ScenarioSpec {
  readonly name: ScenarioName;
  readonly description: string;
  readonly seed: number;
  readonly fleet: FleetSpec;
  /** Client requests per second, as a share of the fleet's nominal capacity. */
  readonly offeredShare: number;
  /** Number of client processes (each with one retry policy and, for SDK clients, one token bucket). */
  readonly clientProcesses: number;
  /** The retry policies of the client processes, by share. */
  readonly clientPolicies: readonly ClientPolicy[];
  readonly timeline: Timeline;
  readonly trigger: Trigger;
}

export interface Phase {
  readonly name: 'before' | 'during' | 'after';
  readonly startMs: number;
  readonly endMs: number;
}

/** Requests per second the healthy fleet serves at no contention. */
export function capacityRps(fleet: FleetSpec): number {
  return (fleet.backends * fleet.workers * 1000) / fleet.serviceMs;
}

export function phasesOf(timeline: Timeline): Phase[] {
  const start = timeline.warmupMs;
  const triggerStart = start + timeline.beforeMs;
  const triggerEnd = triggerStart + timeline.duringMs;
  return [
    { name: 'before', startMs: start, endMs: triggerStart },
    { name: 'during', startMs: triggerStart, endMs: triggerEnd },
    { name: 'after', startMs: triggerEnd, endMs: triggerEnd + timeline.afterMs },
  ];
}

export function endOfArrivalsMs(timeline: Timeline): number {
  return timeline.warmupMs + timeline.beforeMs + timeline.duringMs + timeline.afterMs;
}

const FLEETS: Record<Scale, FleetSpec> = {
  small: { backends: 3, workers: 8, serviceMs: 40, serviceSpread: 0.5, backlog: 511, contention: 0.5 },
  full: { backends: 3, workers: 32, serviceMs: 40, serviceSpread: 0.5, backlog: 511, contention: 0.5 },
};

/**
 * Issue #20's tight concurrency, at both scales: 3 backends x 2 requests at once, 40-80 ms each
 * (mean 60 ms: 3 x 2 / 0.06 s = 100 requests/s), a FIFO queue of 64 each, no slowdown under load.
 */
export const TIGHT_FLEET: FleetSpec = { backends: 3, workers: 2, serviceMs: 60, serviceSpread: 1 / 3, backlog: 64, contention: 0 };
/** 60 % -> 130 % -> 60 % of capacity, long enough for the limits and the clients' backoffs to settle. */
export const TIGHT_TIMELINE: Timeline = { warmupMs: 10_000, beforeMs: 20_000, duringMs: 40_000, afterMs: 30_000 };

const TRIGGERS: Record<ScenarioName, { readonly description: string; readonly trigger: Trigger; readonly isShort: boolean }> = {
  'one-bad-backend': {
    description: 'one backend of three answers 503 at once (a crashing handler, an empty pool)',
    trigger: { backendIndices: [0], isFailingFast: true },
    isShort: false,
  },
  'one-slow-backend': {
    description: 'one backend of three becomes 10 times slower',
    trigger: { backendIndices: [0], slowFactor: 10 },
    isShort: false,
  },
  brownout: {
    description: 'every backend loses half its capacity',
    trigger: { capacityFactor: 0.5 },
    isShort: false,
  },
  metastable: {
    description: 'a short load spike (2x the offered load), then removed',
    trigger: { loadFactor: 2 },
    isShort: true,
  },
  'tight-concurrency': {
    description: 'backends of 2 slots each; the offered load goes from 60 % to 130 % of capacity and back',
    trigger: { loadFactor: 1.3 / 0.6 },
    isShort: false,
  },
};

const TIMELINES: Record<Scale, { readonly long: Timeline; readonly short: Timeline }> = {
  small: {
    long: { warmupMs: 3_000, beforeMs: 5_000, duringMs: 10_000, afterMs: 15_000 },
    short: { warmupMs: 3_000, beforeMs: 5_000, duringMs: 4_000, afterMs: 18_000 },
  },
  full: {
    long: { warmupMs: 5_000, beforeMs: 15_000, duringMs: 20_000, afterMs: 40_000 },
    short: { warmupMs: 5_000, beforeMs: 15_000, duringMs: 5_000, afterMs: 50_000 },
  },
};

/** 60 % of capacity: one backend of three can fail and the other two still cope (at 90 %). */
const OFFERED_SHARE = 0.6;

export function scenario(name: ScenarioName, scale: Scale, seed: number): ScenarioSpec {
  const t = TRIGGERS[name];
  const timelines = TIMELINES[scale];
  const isTight = name === 'tight-concurrency';
  return {
    name,
    description: t.description,
    seed,
    fleet: isTight ? TIGHT_FLEET : FLEETS[scale],
    offeredShare: OFFERED_SHARE,
    // tight-concurrency: one process per client library, as in the live experiment
    clientProcesses: isTight ? LIBRARY_CLIENT_POLICIES.length : scale === 'small' ? 24 : 60,
    clientPolicies: isTight ? LIBRARY_CLIENT_POLICIES : CLIENT_POLICIES,
    timeline: isTight ? TIGHT_TIMELINE : t.isShort ? timelines.short : timelines.long,
    trigger: t.trigger,
  };
}
