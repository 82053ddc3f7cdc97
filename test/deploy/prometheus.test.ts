// deploy/prometheus: the scrape config and alert rules are valid for the real promtool, every
// alert is unit-tested (rules.test.yml) and reads only metrics Sibyl exports, and the scrape
// config points at the admin listener and metrics path of the shipped container config.
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { cp, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { promisify } from 'node:util';
import { parse as parseToml } from 'smol-toml';
import { parse as parseYaml } from 'yaml';
import { createMetrics } from '../../src/metrics/catalogue.ts';
import { findExecutable, skipUnlessTool } from '../helpers/requires-tool.ts';
import { exportedFamilies, metricNamesIn, notACounter, ratedNamesIn, unknownMetric } from '../helpers/promql.ts';

const run = promisify(execFile);
const DIR = new URL('../../deploy/prometheus/', import.meta.url).pathname;
const PROMTOOL = findExecutable('promtool');

interface Rule {
  alert?: string;
  record?: string;
  expr: string;
}
interface RulesFile {
  groups: { name: string; rules: Rule[] }[];
}
interface RulesTest {
  rule_files: string[];
  tests: { name: string; input_series: { series: string }[]; alert_rule_test?: { alertname: string; exp_alerts: unknown[] }[] }[];
}
interface PromConfig {
  rule_files: string[];
  scrape_configs: {
    job_name: string;
    metrics_path: string;
    authorization?: { credentials_file: string };
    static_configs: { targets: string[] }[];
    relabel_configs?: { regex?: string }[];
  }[];
}

async function yamlFile<T>(name: string): Promise<T> {
  return parseYaml(await readFile(join(DIR, name), 'utf8')) as T;
}

const rules = (await yamlFile<RulesFile>('alerts.yml')).groups.flatMap((g) => g.rules);
const families = await exportedFamilies();

describe('alert rules', () => {
  test('cover what the seed asks an operator to alert on', () => {
    const names = rules.map((r) => r.alert);
    for (const alert of ['SibylHighErrorRate', 'SibylHighLatencyP95', 'SibylNoEligibleBackends', 'SibylConfigReloadFailed', 'SibylConnectionLimitReached', 'SibylRetryAmplificationHigh', 'SibylLearnerFallingBehind']) {
      assert.ok(names.includes(alert), `${alert} is missing from alerts.yml`);
    }
  });

  test('read only metrics in the catalogue, and rate() only counters', () => {
    const problems: string[] = [];
    for (const rule of rules) {
      for (const name of metricNamesIn(rule.expr)) {
        // `up` is Prometheus's own per-target metric
        const why = name === 'up' ? undefined : unknownMetric(name, families);
        if (why !== undefined) problems.push(`${rule.alert}: ${why}`);
      }
      for (const name of ratedNamesIn(rule.expr)) {
        const why = notACounter(name, families);
        if (why !== undefined) problems.push(`${rule.alert}: ${why}`);
      }
    }
    assert.deepEqual(problems, []);
  });

  test('the name check catches a misspelt metric', () => {
    assert.deepEqual(metricNamesIn('sum without (backend) (rate(sibyl_proxy_request_total{status_class="5xx"}[5m])) > 0.05'), ['sibyl_proxy_request_total']);
    assert.match(unknownMetric('sibyl_proxy_request_total', families) ?? '', /not in src\/metrics\/catalogue.ts/);
    assert.equal(unknownMetric('sibyl_proxy_request_duration_seconds_bucket', families), undefined);
    assert.match(notACounter('sibyl_pool_eligible_backends', families) ?? '', /gauge/);
  });

  test('every alert has a promtool unit test that makes it fire, on real metric names', async () => {
    const spec = await yamlFile<RulesTest>('rules.test.yml');
    assert.deepEqual(spec.rule_files, ['alerts.yml']);
    const firing = new Set(spec.tests.flatMap((t) => (t.alert_rule_test ?? []).filter((a) => a.exp_alerts.length > 0).map((a) => a.alertname)));
    const untested = rules.filter((r) => r.alert !== undefined && !firing.has(r.alert)).map((r) => r.alert);
    assert.deepEqual(untested, [], 'alerts without a test that expects them to fire');
    const series = spec.tests.flatMap((t) => t.input_series.map((s) => s.series.split('{')[0] ?? ''));
    const fake = series.filter((name) => name !== 'up' && unknownMetric(name, families) !== undefined);
    assert.deepEqual(fake, [], 'input series that Sibyl never exports');
  });
});

describe('scrape config', () => {
  test('the Kubernetes variant keeps job="sibyl" and the admin port name of the Deployment', async () => {
    const config = await yamlFile<PromConfig>('prometheus-kubernetes.yml');
    const job = config.scrape_configs.find((s) => s.job_name === 'sibyl');
    assert.ok(job !== undefined);
    const deployment = parseYaml(await readFile(new URL('../../deploy/kubernetes/deployment.yaml', import.meta.url), 'utf8')) as {
      spec: { template: { metadata: { labels: Record<string, string> }; spec: { containers: { ports: { name: string }[] }[] } } };
    };
    const keep = job.relabel_configs?.find((r) => r.regex !== undefined)?.regex ?? '';
    const [app, portName] = keep.split(';');
    assert.equal(deployment.spec.template.metadata.labels['app.kubernetes.io/name'], app);
    assert.ok(deployment.spec.template.spec.containers[0]?.ports.some((p) => p.name === portName));
  });

  test('scrapes the admin listener and metrics path of deploy/sibyl.toml, with the token', async () => {
    const config = await yamlFile<PromConfig>('prometheus.yml');
    assert.deepEqual(config.rule_files, ['alerts.yml']);
    const sibyl = parseToml(await readFile(new URL('../../deploy/sibyl.toml', import.meta.url), 'utf8')) as { admin: { listen_address: string }; metrics: { path: string } };
    const job = config.scrape_configs.find((s) => s.job_name === 'sibyl');
    assert.ok(job !== undefined, 'a job named sibyl (the alerts select job="sibyl")');
    assert.equal(job.metrics_path, sibyl.metrics.path);
    const adminPort = sibyl.admin.listen_address.split(':').at(-1);
    assert.deepEqual(job.static_configs.flatMap((s) => s.targets), [`sibyl:${adminPort}`]);
    // the admin listener is not on loopback in a container, so /metrics needs the bearer token
    assert.equal(job.authorization?.credentials_file, '/run/secrets/sibyl_admin_token');
  });
});

describe('promtool', { skip: skipUnlessTool('promtool', PROMTOOL) }, () => {
  const promtool = PROMTOOL ?? 'promtool';

  for (const [file, tokenPath] of [
    ['prometheus.yml', '/run/secrets/sibyl_admin_token'],
    ['prometheus-kubernetes.yml', '/etc/prometheus/secrets/sibyl-admin/token'],
  ] as const) {
    test(`check config ${file} (rule files included), with the token file in place`, async (t) => {
      // promtool insists that credentials_file exists: check a copy pointing at a temporary one
      const dir = await mkdtemp(join(tmpdir(), 'sibyl-prometheus-'));
      await cp(DIR, dir, { recursive: true });
      const token = join(dir, 'token');
      await writeFile(token, 'test-token\n');
      const original = await readFile(join(dir, file), 'utf8');
      let copy = original.replace(tokenPath, token);
      assert.notEqual(copy, original);
      await writeFile(join(dir, file), copy);
      let result = await run(promtool, ['check', 'config', join(dir, file)]).catch((err: { stdout: string; stderr: string }) => err);
      if (/field kubernetes_sd_configs not found/.test(result.stdout + result.stderr)) {
        // Debian's promtool is built without Kubernetes discovery: check the rest of the file
        t.diagnostic('this promtool lacks kubernetes_sd_configs; checked with static_configs in its place');
        copy = copy.replace(/kubernetes_sd_configs:\n\s+- role: pod/, 'static_configs:\n      - targets: ["sibyl:9090"]');
        await writeFile(join(dir, file), copy);
        result = await run(promtool, ['check', 'config', join(dir, file)]).catch((err: { stdout: string; stderr: string }) => err);
      }
      assert.match(result.stdout, /SUCCESS/, result.stdout + result.stderr);
      assert.match(result.stdout, /alerts\.yml/);
    });
  }

  test("Sibyl's own metric families pass promtool's metric lint", async () => {
    const { registry } = createMetrics({ collectProcessMetrics: true });
    const exposition = await registry.metrics();
    const result = spawnSync(promtool, ['check', 'metrics'], { input: exposition, encoding: 'utf8' });
    // prom-client's own process gauges end in _total; they are not Sibyl's to rename
    const problems = `${result.stdout}${result.stderr}`.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('sibyl_process_'));
    assert.deepEqual(problems, []);
  });

  test('check rules', async () => {
    const { stdout } = await run(promtool, ['check', 'rules', join(DIR, 'alerts.yml')]);
    assert.match(stdout, new RegExp(`SUCCESS: ${rules.length} rules found`));
  });

  test('test rules: every alert fires when it should and stays quiet otherwise', async () => {
    const { stdout } = await run(promtool, ['test', 'rules', join(DIR, 'rules.test.yml')]);
    assert.match(stdout, /SUCCESS/);
  });
});
