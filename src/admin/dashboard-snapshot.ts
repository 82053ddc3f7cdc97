// GET /api/dashboard: one compact snapshot of the runtime and the metric registry. Counters and
// histogram buckets are cumulative; the page derives rates and percentiles from two snapshots, so
// the server keeps no per-viewer state and any number of dashboards cost one read each.
import type { Registry } from 'prom-client';
import type { Runtime } from '../runtime/runtime.ts';
import { healthSummary, type ListenerStatus } from './health-report.ts';

const RECENT_EVENTS = 12;

interface Sample {
  readonly labels: Record<string, string | number>;
  readonly value: number;
  readonly metricName?: string;
}

async function samples(registry: Registry, name: string): Promise<readonly Sample[]> {
  const metric = registry.getSingleMetric(name);
  if (metric === undefined) return [];
  return ((await metric.get()) as { values: Sample[] }).values;
}

/** A counter summed over every label except `by`; keyed by that label's value ('' without `by`). */
export async function counterBy(registry: Registry, name: string, by?: string): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const s of await samples(registry, name)) {
    const key = by === undefined ? '' : String(s.labels[by] ?? '');
    out[key] = (out[key] ?? 0) + s.value;
  }
  return out;
}

export async function counterTotal(registry: Registry, name: string): Promise<number> {
  return (await counterBy(registry, name))[''] ?? 0;
}

/** Cumulative bucket counts of a histogram, summed over its other labels; `le` ascending, +Inf last. */
export async function histogramBuckets(registry: Registry, name: string): Promise<{ le: number[]; counts: number[] }> {
  const byLe = new Map<number, number>();
  for (const s of await samples(registry, name)) {
    if (s.metricName !== `${name}_bucket`) continue;
    const le = s.labels.le === '+Inf' ? Infinity : Number(s.labels.le);
    byLe.set(le, (byLe.get(le) ?? 0) + s.value);
  }
  const le = [...byLe.keys()].sort((a, b) => a - b);
  // JSON has no Infinity: the last bucket's bound is sent as null
  return { le: le.map((x) => (x === Infinity ? null : x)) as number[], counts: le.map((x) => byLe.get(x) ?? 0) };
}

export async function dashboardSnapshot(runtime: Runtime, registry: Registry, listener: ListenerStatus) {
  const generation = runtime.current;
  const summary = healthSummary(runtime, listener);
  const ejections = new Map(runtime.outlierSnapshot().map((e) => [e.id, e]));
  const requestsByBackend = await counterBy(registry, 'sibyl_proxy_requests_total', 'backend');
  const config = runtime.config;
  const [responses, retryDecisions, shed, latency, predictions] = await Promise.all([
    counterBy(registry, 'sibyl_proxy_requests_total', 'status_class'),
    counterBy(registry, 'sibyl_retry_decisions_total', 'decision'),
    counterBy(registry, 'sibyl_protect_shed_total', 'reason'),
    histogramBuckets(registry, 'sibyl_proxy_request_duration_seconds'),
    histogramBuckets(registry, 'sibyl_model_predicted_retry_probability'),
  ]);
  return {
    atMs: Date.now(),
    uptimeSeconds: Math.round(runtime.uptimeMs / 1000),
    strategy: config.strategy.algorithm,
    configGeneration: generation.id,
    lastReload: runtime.lastReload,
    pool: { status: summary.status, isReady: summary.isReady, isPanic: summary.isPanic, eligible: summary.eligibleBackends, total: summary.totalBackends },
    backends: generation.backends.map((b) => {
      const e = ejections.get(b.id);
      return { ...b.toJSON(), timesEjected: e?.timesEjected ?? 0, concurrencyLimit: b.limiter?.limit ?? null, requests: requestsByBackend[b.id] ?? 0 };
    }),
    /** Cumulative since start: the page turns them into rates. */
    totals: {
      ...runtime.tally,
      responses,
      retryDecisions,
      shed,
      paced: await counterTotal(registry, 'sibyl_retry_paced_total'),
      noBackend: await counterTotal(registry, 'sibyl_proxy_no_backend_total'),
      queueAbandoned: await counterTotal(registry, 'sibyl_protect_queue_abandoned_total'),
      waste: await counterTotal(registry, 'sibyl_protect_waste_total'),
    },
    latencySeconds: latency,
    predictedRetryProbability: predictions,
    protect: {
      isLoadShedding: config.loadShedding.enabled,
      queueLength: runtime.admission.length,
      queueDeadlineMs: Math.round(runtime.queueDeadlineMs()),
      retryBudgetAvailable: runtime.retryBudgetAvailable(),
      retryBudgetRatio: config.retry.budgetRatio,
    },
    storm: runtime.storm,
    model: runtime.retry?.report() ?? null,
    // newest first
    recentEvents: runtime.recentHealthEvents().slice(0, RECENT_EVENTS),
  };
}

export type DashboardSnapshot = Awaited<ReturnType<typeof dashboardSnapshot>>;
