// One /metrics for all workers: prom-client's cluster aggregation. Counters and histograms are
// summed; a gauge is summed only when it counts something each worker holds a part of (open
// connections, requests in flight, queued requests, keys), otherwise the workers' largest value
// stands (a config generation, a 0/1 state, an EWMA, a limit).
import { AggregatorRegistry } from 'prom-client';

const ADDITIVE_GAUGES = new Set([
  'sibyl_proxy_open_connections',
  'sibyl_proxy_in_flight_requests',
  'sibyl_protect_queue_length',
  'sibyl_protect_rate_limit_keys',
  'sibyl_telemetry_tracked_keys',
  'sibyl_model_learner_backlog_events',
  'sibyl_retry_budget_available',
]);

interface MetricJson {
  name: string;
  type: string;
  aggregator?: string;
}

export async function aggregateMetrics(perWorker: readonly unknown[][]): Promise<{ text: string; contentType: string }> {
  const relabelled = perWorker.map((metrics) =>
    (metrics as MetricJson[]).map((m) => {
      // process metrics carry their own aggregators (prom-client's defaults)
      if (m.type !== 'gauge' || m.name.startsWith('sibyl_process_')) return m;
      return { ...m, aggregator: ADDITIVE_GAUGES.has(m.name) ? 'sum' : 'max' };
    }),
  );
  const registry = AggregatorRegistry.aggregate(relabelled as Parameters<typeof AggregatorRegistry.aggregate>[0]);
  return { text: await registry.metrics(), contentType: registry.contentType };
}
