// Per-request metric updates with the labelled children cached, so the hot path does not hash
// label objects on every request.
import type { Counter, Histogram } from 'prom-client';
import { statusClass, type Metrics } from '../metrics/catalogue.ts';

export interface RequestMetrics {
  record(backendId: string, status: number, latencySeconds: number): void;
}

export function createRequestMetrics(metrics: Metrics): RequestMetrics {
  const counters = new Map<string, Counter.Internal>();
  const histograms = new Map<string, Histogram.Internal<string>>();
  return {
    record(backendId, status, latencySeconds) {
      const cls = statusClass(status);
      const key = `${backendId}\u0000${cls}`;
      let counter = counters.get(key);
      if (counter === undefined) {
        counter = metrics.requests.labels({ backend: backendId, status_class: cls });
        counters.set(key, counter);
      }
      counter.inc();
      let histogram = histograms.get(backendId);
      if (histogram === undefined) {
        histogram = metrics.requestDuration.labels({ backend: backendId });
        histograms.set(backendId, histogram);
      }
      histogram.observe(latencySeconds);
    },
  };
}
