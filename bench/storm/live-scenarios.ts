// The live experiment's scenarios: the simulator's triggers (sim/storm/scenarios.ts) on a fleet
// small enough for real client libraries on a 2-core machine, and issue #20's tight concurrency
// (the simulator's tight-concurrency fleet, clients and timeline as they are). Times are ms from the start.
import { capacityRps, scenario as simScenario, TIGHT_FLEET, TIGHT_TIMELINE, type ScenarioName, type Timeline, type Trigger } from '../../sim/storm/scenarios.ts';
import type { LiveProxyName } from './live-proxies.ts';
import type { ClientLibrary } from './retrying-client.ts';

export const LiveScenarioNames = ['one-bad-backend', 'brownout', 'metastable', 'tight-concurrency'] as const satisfies readonly ScenarioName[];
export type LiveScenarioName = (typeof LiveScenarioNames)[number];

export interface LiveFleet {
  readonly backends: number;
  readonly workers: number;
  readonly serviceMs: number;
  /** Each request takes (1 - serviceSpread) to (1 + serviceSpread) times serviceMs. */
  readonly serviceSpread: number;
  /** FIFO queue per backend; beyond it, connections are reset. */
  readonly backlog: number;
  /** Service time grows with the queue, up to 1 + contention when it is full. */
  readonly contention: number;
}

export interface LiveScenario {
  readonly name: LiveScenarioName;
  readonly description: string;
  readonly fleet: LiveFleet;
  /** Client requests per second over all libraries, outside the trigger. */
  readonly offeredRps: number;
  readonly timeline: Timeline;
  readonly trigger: Trigger;
  /** Per-attempt timeout of every client library. */
  readonly clientTimeoutMs: number;
  /** One client process per library, each with an equal share of the load. */
  readonly libraries: readonly ClientLibrary[];
  /** The proxies this scenario compares (the --proxies flag narrows them). */
  readonly proxies: readonly LiveProxyName[];
  /** Each library's process connects from its own loopback address (a client of its own to the proxy). */
  readonly hasDistinctAddresses: boolean;
}

/** 3 x 8 workers x 12.5/s = 300 requests/s: little enough CPU for the clients, proxies and backends to share 2 cores. */
export const LIVE_FLEET: LiveFleet = { backends: 3, workers: 8, serviceMs: 80, serviceSpread: 0.5, backlog: 1024, contention: 0.5 };

// The spike lasts 10 s here, not the simulator's 5 s: on a quiet machine a 5 s spike of 2x left the
// backends' queues at about the clients' 1 s timeout, and even plain round robin recovered within a
// second; 10 s pushes the queues well past it, which is what tips a fleet into a retry storm.
const TIMELINES: Record<'long' | 'short', Timeline> = {
  long: { warmupMs: 5_000, beforeMs: 10_000, duringMs: 15_000, afterMs: 20_000 },
  short: { warmupMs: 5_000, beforeMs: 10_000, duringMs: 10_000, afterMs: 25_000 },
};

const STORM_LIBRARIES: readonly ClientLibrary[] = ['got', 'axios-retry', 'undici-retry'];
/** Backoff honouring Retry-After (got, ky, undici), backoff without it (p-retry), immediate retries (axios-retry), none (fetch). */
export const TIGHT_LIBRARIES: readonly ClientLibrary[] = ['got', 'ky', 'undici-retry', 'p-retry-fetch', 'axios-retry', 'plain-fetch'];

export function liveCapacityRps(fleet: LiveFleet): number {
  return (fleet.backends * fleet.workers * 1000) / fleet.serviceMs;
}

export function liveScenario(name: LiveScenarioName): LiveScenario {
  // the simulator's trigger and offered share; only the size of the fleet and the timeline differ
  const sim = simScenario(name, 'small', 1);
  if (name === 'tight-concurrency') {
    // told to nobody but the tuned HAProxy: 2 slots per backend; the clients give up after 1 s
    return {
      name,
      description: sim.description,
      fleet: TIGHT_FLEET,
      offeredRps: Math.round(sim.offeredShare * capacityRps(TIGHT_FLEET)),
      timeline: TIGHT_TIMELINE,
      trigger: sim.trigger,
      clientTimeoutMs: 1_000,
      libraries: TIGHT_LIBRARIES,
      proxies: ['nginx', 'haproxy-tuned', 'sibyl'],
      hasDistinctAddresses: true,
    };
  }
  return {
    name,
    description: sim.description,
    fleet: LIVE_FLEET,
    offeredRps: Math.round(sim.offeredShare * liveCapacityRps(LIVE_FLEET)),
    timeline: name === 'metastable' ? TIMELINES.short : TIMELINES.long,
    trigger: sim.trigger,
    clientTimeoutMs: 1_000,
    libraries: STORM_LIBRARIES,
    proxies: ['sibyl', 'sibyl-round-robin', 'nginx', 'haproxy-tuned'],
    hasDistinctAddresses: false,
  };
}

/** The client arrival schedule of one library (its share of the offered load), with the trigger's load factor. */
export function arrivalSchedule(s: LiveScenario, share: number): { untilMs: number; rps: number }[] {
  const t = s.timeline;
  const rps = s.offeredRps * share;
  const triggerStart = t.warmupMs + t.beforeMs;
  const triggerEnd = triggerStart + t.duringMs;
  return [
    { untilMs: triggerStart, rps },
    { untilMs: triggerEnd, rps: rps * (s.trigger.loadFactor ?? 1) },
    { untilMs: triggerEnd + t.afterMs, rps },
  ];
}
