// The benchmark's results: their shape (also the raw JSON in bench/results/) and docs/benchmarks.md.
import type { ModelBench } from './model.ts';
import type { TargetName } from './targets.ts';

export interface Scenario {
  readonly key: string;
  readonly label: string;
  readonly bodyBytes: number;
  readonly connections: number;
}

export interface Measurement {
  readonly round: number;
  readonly scenario: string;
  readonly target: TargetName;
  readonly rps: number;
  readonly p50Ms: number;
  readonly p90Ms: number;
  readonly p99Ms: number;
  readonly requests: number;
  /** CPU (user + system) of the target's processes per request, in microseconds. */
  readonly cpuUsPerRequest: number;
  readonly socketErrors: number;
  readonly non2xx3xx: number;
  /** Sibyl ran under --cpu-prof for this measurement. */
  readonly isProfiled: boolean;
}

export interface Machine {
  readonly cores: number;
  readonly cpuModel: string;
  readonly kernel: string;
  readonly nodeVersion: string;
  readonly nginxVersion: string | undefined;
  readonly wrkVersion: string | undefined;
  readonly clockTicksPerSecond: number;
}

export interface BenchResults {
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly machine: Machine;
  readonly options: { readonly rounds: number; readonly durationSeconds: number; readonly warmupSeconds: number; readonly targets: readonly TargetName[]; readonly isProfile: boolean };
  readonly scenarios: readonly Scenario[];
  readonly skipped: readonly string[];
  readonly measurements: readonly Measurement[];
  readonly model?: ModelBench;
}

/** The scenario the targets are judged on. */
export const GOAL_SCENARIO = 'small-64';
export const GOALS = { minRpsVsNginx: 0.45, minRpsVsFastify: 1.2, maxP99VsNginx: 2 } as const;

export function median(values: readonly number[]): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

function pick(results: BenchResults, scenario: string, target: TargetName): Measurement[] {
  return results.measurements.filter((m) => m.scenario === scenario && m.target === target);
}

/** Median over rounds of target/base for `field`, each ratio taken within one round. */
export function ratio(results: BenchResults, scenario: string, target: TargetName, base: TargetName, field: 'rps' | 'p99Ms'): number | undefined {
  const bases = new Map(pick(results, scenario, base).map((m) => [m.round, m[field]]));
  const ratios = pick(results, scenario, target).flatMap((m) => {
    const b = bases.get(m.round);
    return b === undefined || b <= 0 ? [] : [m[field] / b];
  });
  return median(ratios);
}

interface Check {
  readonly text: string;
  readonly value: number | undefined;
  readonly isMet: (v: number) => boolean;
}

export function goalChecks(results: BenchResults): Check[] {
  return [
    { text: `rps vs nginx >= ${GOALS.minRpsVsNginx}`, value: ratio(results, GOAL_SCENARIO, 'sibyl', 'nginx', 'rps'), isMet: (v) => v >= GOALS.minRpsVsNginx },
    { text: `rps vs fastify-http-proxy >= ${GOALS.minRpsVsFastify}`, value: ratio(results, GOAL_SCENARIO, 'sibyl', 'fastify', 'rps'), isMet: (v) => v >= GOALS.minRpsVsFastify },
    { text: `p99 vs nginx <= ${GOALS.maxP99VsNginx}`, value: ratio(results, GOAL_SCENARIO, 'sibyl', 'nginx', 'p99Ms'), isMet: (v) => v <= GOALS.maxP99VsNginx },
  ];
}

/** "PASS", "FAIL", or "NOT EVALUATED" when a figure it needs was not measured. */
export function verdict(results: BenchResults): string {
  const checks = goalChecks(results);
  if (checks.some((c) => c.value !== undefined && !c.isMet(c.value))) return 'FAIL';
  return checks.every((c) => c.value !== undefined) ? 'PASS' : 'NOT EVALUATED';
}

const fixed = (digits: number) => (v: number | undefined): string => (v === undefined ? 'n/a' : v.toFixed(digits));
const times = (v: number | undefined): string => (v === undefined ? 'n/a' : `${v.toFixed(2)}x`);

function scenarioTable(results: BenchResults, scenario: Scenario): string[] {
  const lines = [`## ${scenario.label}`, '', '| target | rps | p50 (ms) | p99 (ms) | CPU µs/req | rps vs nginx | p99 vs nginx |', '| --- | ---: | ---: | ---: | ---: | ---: | ---: |'];
  const notes: string[] = [];
  for (const target of results.options.targets) {
    const rows = pick(results, scenario.key, target);
    if (rows.length === 0) continue;
    const med = (f: (m: Measurement) => number): number | undefined => median(rows.map(f));
    const rpsVs = target === 'nginx' ? undefined : ratio(results, scenario.key, target, 'nginx', 'rps');
    const p99Vs = target === 'nginx' ? undefined : ratio(results, scenario.key, target, 'nginx', 'p99Ms');
    const cells = [target, fixed(0)(med((m) => m.rps)), fixed(2)(med((m) => m.p50Ms)), fixed(2)(med((m) => m.p99Ms)), fixed(1)(med((m) => m.cpuUsPerRequest)), target === 'nginx' ? '1.00x' : times(rpsVs), target === 'nginx' ? '1.00x' : times(p99Vs)];
    lines.push(`| ${cells.join(' | ')} |`);
    for (const m of rows) {
      if (m.socketErrors > 0 || m.non2xx3xx > 0) notes.push(`- Warning: ${target}, round ${m.round}: ${m.socketErrors} socket errors, ${m.non2xx3xx} non-2xx/3xx responses.`);
      if (m.isProfiled) notes.push(`- ${target}, round ${m.round}: ran under \`--cpu-prof\`; its figures include the profiler's overhead.`);
    }
  }
  return [...lines, ...(notes.length > 0 ? ['', ...notes] : []), ''];
}

function goalSection(results: BenchResults): string[] {
  const checks = goalChecks(results).map((c) => {
    const status = c.value === undefined ? 'not measured' : c.isMet(c.value) ? 'PASS' : 'FAIL';
    return `- Sibyl ${c.text}: ${times(c.value)} - ${status}`;
  });
  return [
    '## Targets from the issue',
    '',
    `Sibyl >= ${GOALS.minRpsVsNginx} x nginx rps and >= ${GOALS.minRpsVsFastify} x fastify-http-proxy rps, p99 <= ${GOALS.maxP99VsNginx} x nginx (small body, 64 connections).`,
    '',
    ...checks,
    '',
    `**Result: ${verdict(results)}**`,
    '',
  ];
}

function telemetrySection(results: BenchResults): string[] {
  const on = ratio(results, GOAL_SCENARIO, 'sibyl', 'sibyl-no-telemetry', 'rps');
  const lines = ['## Retry intelligence costs', ''];
  const mb = results.model;
  if (mb !== undefined) {
    lines.push(
      `In-process, on ${mb.events} synthetic events (\`bench/model.ts\`, best of 5): predict (feature extraction + dot product) **${mb.predictNs.toFixed(0)} ns**; ` +
        `learner **${Math.round(mb.learnEventsPerSecond).toLocaleString('en')} labelled events/s** on one core; labelling (arrive + finish + sweep) **${mb.labelNsPerRequest.toFixed(0)} ns** per request.`,
      '',
    );
  }
  lines.push(
    `Proxy with telemetry, labelling, prediction and learning on (\`sibyl\`) vs off (\`sibyl-no-telemetry\`), small body, 64 connections: ${times(on)} rps ` +
      `(target >= 0.90: ${on === undefined ? 'not measured' : on >= 0.9 ? 'PASS' : 'FAIL'}). The bench sends one URL from one client, the worst case for labelling: every request is a retry of the previous one and is learned from.`,
    '',
  );
  return lines;
}

export function renderReport(results: BenchResults): string {
  const { machine: m, options: o } = results;
  const warnings: string[] = [];
  if (o.rounds < 3) warnings.push(`> Only ${o.rounds} round(s) of ${o.durationSeconds} s: a smoke run, the figures are noisy. The real benchmark is \`npm run bench\` (3 rounds of 10 s).`);
  if (o.isProfile) warnings.push('> Profiled run (`--profile`): Sibyl ran under `--cpu-prof` in the small-body 64-connection scenario.');
  if (o.targets.length < 5) warnings.push(`> Partial run: targets ${o.targets.join(', ')} only.`);
  for (const s of results.skipped) warnings.push(`> Skipped: ${s}`);
  return [
    '# Benchmarks',
    '',
    '<!-- Generated by `npm run bench` (bench/run.ts). Do not edit: rerun the benchmark. -->',
    '',
    `Machine: ${m.cores} cores (${m.cpuModel}), Linux ${m.kernel}, Node ${m.nodeVersion}, nginx ${m.nginxVersion ?? 'not installed'}, wrk ${m.wrkVersion ?? '?'}; run of ${results.startedAt}.`,
    '',
    'HTTPS and HTTP/2 over TLS (Sibyl and nginx with the same certificate) are measured apart, by `npm run bench:protocols -- --write`: [benchmarks-protocols.md](benchmarks-protocols.md).',
    '',
    ...(warnings.length > 0 ? [...warnings.flatMap((w) => [w, '']) ] : []),
    '## Method',
    '',
    `- Loopback only. wrk, the target and the demo backend (\`sibyl backend --body-bytes N\`, one process per body size) share the ${m.cores} cores, so the figures compare the targets with one another on this machine, nothing more.`,
    `- ${o.rounds} round(s), interleaved: in each round, for each body size, the proxies are started afresh and pointed at that size's backend; then for each connection count each target runs in turn (the order rotates from round to round): a ${o.warmupSeconds} s warm-up, then \`wrk -t1 -c<connections> -d${o.durationSeconds}s --latency\`.`,
    '- Targets: **direct** (the backend itself); **sibyl** (one backend, every default on: health checks, outlier detection, metrics, admin listener, retry telemetry and the online model, access log written to a file); **sibyl-no-telemetry** (the same with `[telemetry] enabled = false`); **fastify** (fastify + @fastify/http-proxy, logger off, default undici keep-alive agent; `bench/fastify-proxy.ts`); **nginx** (`worker_processes 1`, upstream `keepalive 64`, `proxy_http_version 1.1`, `Connection ""`, access log off).',
    `- rps, p50, p99: medians over the rounds of wrk's figures. CPU µs/req: user + system time of the target's processes during the measured run (\`/proc/<pid>/stat\`, ${m.clockTicksPerSecond} ticks/s; nginx = master + worker; direct = the backend itself) divided by the requests served. The ratios to nginx are taken within each round, then the median.`,
    '',
    ...goalSection(results),
    ...telemetrySection(results),
    ...results.scenarios.flatMap((s) => scenarioTable(results, s)),
  ].join('\n');
}
