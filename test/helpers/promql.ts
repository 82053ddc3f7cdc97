// The metric names a PromQL expression reads, checked against what Sibyl really exports: the
// catalogue's registry (with the process metrics), not the generated docs.
import { createMetrics } from '../../src/metrics/catalogue.ts';

export type MetricType = 'counter' | 'gauge' | 'histogram' | 'summary';

/** Every metric family Sibyl exports, by name. */
export async function exportedFamilies(): Promise<Map<string, MetricType>> {
  const { registry } = createMetrics({ collectProcessMetrics: true });
  const families = await registry.getMetricsAsJSON();
  return new Map(families.map((f) => [f.name, String(f.type) as MetricType]));
}

const KEYWORDS = new Set(['and', 'or', 'unless', 'bool', 'offset', 'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'inf', 'nan']);
// An identifier not preceded by a word character (so not the "e3" of 1e3 or the "m" of 5m) and
// not a function call.
const IDENTIFIER = /(?<![\w.:$])([a-zA-Z_:][\w:]*)(?![\w:]|\s*\()/g;
const RATE_CALL = /\b(rate|irate|increase)\(\s*([a-zA-Z_:][\w:]*)/g;

/** Strings, label matchers, ranges and grouping clauses removed: what is left names metrics. */
function skeleton(expr: string): string {
  return expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, '')
    .replace(/\[[^\]]*\]/g, '')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, '');
}

/** Metric names read by a PromQL expression (Grafana's label_values(metric, label) included). */
export function metricNamesIn(expr: string): string[] {
  const labelValues = /label_values\(\s*([a-zA-Z_:][\w:]*)/.exec(expr);
  if (labelValues !== null) return [labelValues[1] ?? ''];
  const names = [...skeleton(expr).matchAll(IDENTIFIER)].map((m) => m[1] ?? '').filter((n) => !KEYWORDS.has(n));
  return [...new Set(names)];
}

/** Names passed straight to rate()/irate()/increase(), which only make sense for counters. */
export function ratedNamesIn(expr: string): string[] {
  return [...skeleton(expr).matchAll(RATE_CALL)].map((m) => m[2] ?? '');
}

/** Why `name` is not something Sibyl exports, or undefined when it is. */
export function unknownMetric(name: string, families: ReadonlyMap<string, MetricType>): string | undefined {
  if (families.has(name)) return undefined;
  const histogram = /^(.*)_(bucket|sum|count)$/.exec(name);
  if (histogram !== null && families.get(histogram[1] ?? '') === 'histogram') return undefined;
  return `${name} is not in src/metrics/catalogue.ts`;
}

/** Why rate() over `name` is wrong (a gauge), or undefined. */
export function notACounter(name: string, families: ReadonlyMap<string, MetricType>): string | undefined {
  if (families.get(name) === 'counter') return undefined;
  const histogram = /^(.*)_(bucket|sum|count)$/.exec(name);
  if (histogram !== null && families.get(histogram[1] ?? '') === 'histogram') return undefined;
  return `rate()/increase() over ${name}, which is a ${families.get(name) ?? 'unknown metric'}, not a counter`;
}
