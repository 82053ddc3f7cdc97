// deploy/grafana: the dashboard queries only metrics Sibyl exports, shows what an operator needs,
// lays out its panels without overlap, and the provisioning files, the compose mounts and the
// Prometheus config agree on paths, data source and scrape interval.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { describe, test } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { exportedFamilies, metricNamesIn, notACounter, ratedNamesIn, unknownMetric } from '../helpers/promql.ts';

const DEPLOY = new URL('../../deploy/', import.meta.url).pathname;

interface Target {
  expr: string;
  datasource?: { type: string; uid: string };
}
interface Panel {
  id: number;
  type: string;
  title: string;
  gridPos: { x: number; y: number; w: number; h: number };
  datasource?: { type: string; uid: string };
  targets?: Target[];
  panels?: Panel[];
}
interface Dashboard {
  uid: string;
  title: string;
  panels: Panel[];
  templating: { list: { name: string; type: string; query: string | { query: string } }[] };
  annotations: { list: { expr?: string }[] };
}
interface Compose {
  services: Record<string, { volumes?: string[]; environment?: Record<string, string>; ports?: string[] }>;
}

const dashboard = JSON.parse(await readFile(join(DEPLOY, 'grafana/dashboards/sibyl.json'), 'utf8')) as Dashboard;
const panels = dashboard.panels.flatMap((p) => [p, ...(p.panels ?? [])]);
const queries = [
  ...panels.flatMap((p) => (p.targets ?? []).map((t) => ({ where: p.title, expr: t.expr }))),
  ...dashboard.templating.list.filter((v) => v.type === 'query').map((v) => ({ where: `variable ${v.name}`, expr: typeof v.query === 'string' ? v.query : v.query.query })),
  ...dashboard.annotations.list.filter((a) => a.expr !== undefined).map((a) => ({ where: 'annotation', expr: a.expr ?? '' })),
];
const families = await exportedFamilies();

async function yamlFile<T>(path: string): Promise<T> {
  return parseYaml(await readFile(join(DEPLOY, path), 'utf8'), { merge: true }) as T;
}

/** Container path -> host path (relative to deploy/) of a compose service's bind mounts. */
function bindMounts(volumes: readonly string[] = []): Map<string, string> {
  const mounts = new Map<string, string>();
  for (const volume of volumes) {
    const [source = '', target = ''] = volume.split(':');
    if (source.startsWith('./')) mounts.set(target, source);
  }
  return mounts;
}

describe('dashboard', () => {
  test('queries only metrics in the catalogue, and rate() only counters', () => {
    assert.ok(queries.length > 40, `only ${queries.length} queries`);
    const problems: string[] = [];
    for (const { where, expr } of queries) {
      for (const name of metricNamesIn(expr)) {
        const why = unknownMetric(name, families);
        if (why !== undefined) problems.push(`${where}: ${why}`);
      }
      for (const name of ratedNamesIn(expr)) {
        const why = notACounter(name, families);
        if (why !== undefined) problems.push(`${where}: ${why}`);
      }
    }
    assert.deepEqual(problems, []);
  });

  test('shows backends, traffic, retries, protection, the model and config', () => {
    const used = new Set(queries.flatMap((q) => metricNamesIn(q.expr)));
    const needed = [
      // backends: health, in-flight, latency, error rate, ejections, weight
      'sibyl_backend_healthy', 'sibyl_backend_ejected', 'sibyl_backend_draining', 'sibyl_proxy_in_flight_requests',
      'sibyl_backend_latency_ewma_seconds', 'sibyl_backend_error_ewma_ratio', 'sibyl_outlier_ejections_total', 'sibyl_backend_effective_weight',
      // requests/s, p50/p99, error rate
      'sibyl_proxy_requests_total', 'sibyl_proxy_request_duration_seconds_bucket',
      // retries and protection: amplification, shed, paced, queued, budget, retry decisions
      'sibyl_retry_amplification', 'sibyl_retry_backend_attempts_total', 'sibyl_protect_shed_total', 'sibyl_retry_paced_total',
      'sibyl_protect_queue_length', 'sibyl_retry_budget_available', 'sibyl_retry_decisions_total', 'sibyl_telemetry_attempts_total',
      // the model: predicted probability distribution, quality vs baselines, learner
      'sibyl_model_predicted_retry_probability_bucket', 'sibyl_model_quality', 'sibyl_model_learner_backlog_events',
      // config generation and reload results
      'sibyl_config_generation', 'sibyl_config_reloads_total', 'sibyl_config_reload_failures_total',
    ];
    assert.deepEqual(needed.filter((n) => !used.has(n)), []);
    const p99 = queries.filter((q) => q.expr.startsWith('histogram_quantile(0.99'));
    const p50 = queries.filter((q) => q.expr.startsWith('histogram_quantile(0.5'));
    assert.ok(p99.length > 0 && p50.length > 0, 'p50 and p99 latency');
  });

  test('panels have unique ids, fit the 24-column grid and do not overlap', () => {
    const ids = panels.map((p) => p.id);
    assert.equal(new Set(ids).size, ids.length, 'unique panel ids');
    const cells = new Map<string, string>();
    for (const p of panels) {
      const { x, y, w, h } = p.gridPos;
      assert.ok(x >= 0 && w > 0 && x + w <= 24, `${p.title} fits the grid`);
      for (let row = y; row < y + h; row++) {
        for (let col = x; col < x + w; col++) {
          const key = `${row}:${col}`;
          assert.equal(cells.get(key), undefined, `${p.title} overlaps ${cells.get(key)}`);
          cells.set(key, p.title);
        }
      }
    }
  });

  test('every panel and query uses the data source variable, which selects Prometheus', () => {
    const variable = dashboard.templating.list.find((v) => v.name === 'datasource');
    assert.deepEqual({ type: variable?.type, query: variable?.query }, { type: 'datasource', query: 'prometheus' });
    const sources = panels.filter((p) => p.type !== 'row').flatMap((p) => [p.datasource, ...(p.targets ?? []).map((t) => t.datasource)]);
    assert.deepEqual([...new Set(sources.map((s) => `${s?.type}/${s?.uid}`))], ['prometheus/${datasource}']);
  });
});

describe('provisioning', () => {
  test('compose mounts the provisioning and dashboards where the provider looks', async () => {
    const compose = await yamlFile<Compose>('docker-compose.yml');
    const grafana = compose.services.grafana;
    assert.ok(grafana !== undefined);
    const mounts = bindMounts(grafana.volumes);
    assert.equal(mounts.get('/etc/grafana/provisioning'), './grafana/provisioning');
    const provider = await yamlFile<{ providers: { type: string; options: { path: string } }[] }>('grafana/provisioning/dashboards/sibyl.yml');
    assert.equal(provider.providers.length, 1);
    const path = provider.providers[0]?.options.path ?? '';
    const source = mounts.get(path);
    assert.ok(source !== undefined, `nothing is mounted at the provider's path ${path}`);
    assert.ok(existsSync(join(DEPLOY, source, 'sibyl.json')), `${source}/sibyl.json`);
    const home = grafana.environment?.GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH ?? '';
    assert.equal(posix.dirname(home), path, 'the home dashboard is the provisioned one');
    assert.ok(existsSync(join(DEPLOY, source, posix.basename(home))));
  });

  test('the data source is the compose Prometheus, at its scrape interval', async () => {
    const compose = await yamlFile<Compose>('docker-compose.yml');
    const datasources = await yamlFile<{ datasources: { type: string; url: string; isDefault: boolean; jsonData: { timeInterval: string } }[] }>('grafana/provisioning/datasources/prometheus.yml');
    assert.equal(datasources.datasources.length, 1);
    const ds = datasources.datasources[0];
    assert.equal(ds?.type, 'prometheus');
    assert.equal(ds?.isDefault, true);
    const url = new URL(ds?.url ?? '');
    assert.ok(compose.services[url.hostname] !== undefined, `no compose service ${url.hostname}`);
    // the container port of the service (host:container mappings end with it)
    assert.ok(compose.services[url.hostname]?.ports?.some((p) => p.endsWith(`:${url.port}`)), `${url.hostname} listens on ${url.port}`);
    const prometheus = await yamlFile<{ global: { scrape_interval: string } }>('prometheus/prometheus.yml');
    assert.equal(ds?.jsonData.timeInterval, prometheus.global.scrape_interval);
  });
});
