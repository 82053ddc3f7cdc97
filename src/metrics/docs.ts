// Renders docs/metrics.md from the metric catalogue, so the docs cannot drift from the code.
import { createMetrics } from './catalogue.ts';

interface MetricJson {
  name: string;
  type: string;
  help: string;
}

export async function renderMetricsDocs(): Promise<string> {
  const metrics = createMetrics({ collectProcessMetrics: false });
  const families = (await metrics.registry.getMetricsAsJSON()) as unknown as MetricJson[];
  const labels = new Map<string, string[]>();
  for (const value of Object.values(metrics)) {
    const internal = value as { name?: string; labelNames?: string[] };
    if (typeof internal.name === 'string') labels.set(internal.name, internal.labelNames ?? []);
  }
  const rows = families
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((f) => `| \`${f.name}\` | ${f.type} | ${(labels.get(f.name) ?? []).map((l) => `\`${l}\``).join(', ')} | ${f.help} |`);
  return [
    '# Metrics',
    '',
    '<!-- Generated from src/metrics/catalogue.ts by `npm run docs`. Do not edit. -->',
    '',
    'Served by the admin listener at `[metrics] path` (default `/metrics`) in the Prometheus text format.',
    'Process metrics (CPU, memory, event loop lag, GC) are exported too, with the prefix `sibyl_process_`.',
    '',
    '| metric | type | labels | meaning |',
    '|---|---|---|---|',
    ...rows,
    '',
  ].join('\n');
}
