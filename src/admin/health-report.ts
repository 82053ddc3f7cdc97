// What /health, /health/ready and /health/detailed say, computed from the runtime.
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { Runtime } from '../runtime/runtime.ts';

export interface ListenerStatus {
  readonly openConnections: number;
  readonly isDraining: boolean;
}

const loopDelay = monitorEventLoopDelay({ resolution: 20 });
loopDelay.enable();

export function healthSummary(runtime: Runtime, listener: ListenerStatus) {
  // over every pool ([[pools]]); without pools this is the default pool, as before pools existed
  let eligible = 0;
  let isPanic = false;
  for (const pool of runtime.current.pools.values()) {
    const set = pool.eligibleSet;
    eligible += set.eligible.length;
    isPanic ||= set.isPanic;
  }
  const total = runtime.current.backends.length;
  const status = eligible === 0 ? 'unhealthy' : isPanic || eligible < total ? 'degraded' : 'ok';
  const isReady = !listener.isDraining && eligible > 0;
  return { status, isReady, eligibleBackends: eligible, totalBackends: total, isPanic };
}

export function detailedHealth(runtime: Runtime, listener: ListenerStatus) {
  const summary = healthSummary(runtime, listener);
  const memory = process.memoryUsage();
  const lagP99Ms = loopDelay.percentile(99) / 1e6;
  loopDelay.reset();
  const ejections = new Map(runtime.outlierSnapshot().map((e) => [e.id, e]));
  return {
    status: summary.status,
    isReady: summary.isReady,
    isPanic: summary.isPanic,
    uptimeSeconds: Math.round(runtime.uptimeMs / 1000),
    configGeneration: runtime.current.id,
    lastReload: runtime.lastReload,
    backends: runtime.current.backends.map((b) => ({ ...b.toJSON(), ejection: ejections.get(b.id) })),
    recentEvents: runtime.recentHealthEvents(),
    checks: {
      memory: { rssBytes: memory.rss, heapUsedBytes: memory.heapUsed, heapTotalBytes: memory.heapTotal },
      eventLoopLagP99Ms: Math.round(lagP99Ms * 100) / 100,
      openConnections: listener.openConnections,
      isDraining: listener.isDraining,
    },
  };
}
