// `npm run bench`: Sibyl against direct, fastify-http-proxy and nginx on loopback, in interleaved
// rounds; writes docs/benchmarks.md and bench/results/<timestamp>.json.
// Usage: npm run bench -- [--rounds 3] [--duration 10] [--warmup 2] [--targets direct,sibyl,fastify,nginx] [--profile]
import { benchModel } from './model.ts';
import { spawnSync } from 'node:child_process';
import { accessSync, constants, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { clockTicksPerSecond, cpuTicks, killAllSync, stopAll } from './processes.ts';
import { GOAL_SCENARIO, renderReport, verdict, type BenchResults, type Machine, type Measurement, type Scenario } from './report.ts';
import { hasNginx, NGINX_BIN, nginxVersion, startBackend, startTarget, TARGET_NAMES, type Backend, type Target, type TargetName } from './targets.ts';
import { runWrk, WRK_BIN } from './wrk.ts';

const ROOT = new URL('..', import.meta.url).pathname;
const RESULTS_DIR = join(ROOT, 'bench', 'results');
const REPORT_PATH = join(ROOT, 'docs', 'benchmarks.md');
const BODY_SIZES = [{ name: 'small', bytes: 100, label: 'Small body (100 B)' }, { name: 'large', bytes: 16_384, label: '16 KiB body' }] as const;
const CONNECTIONS = [64, 256] as const;

interface Options {
  readonly rounds: number;
  readonly durationSeconds: number;
  readonly warmupSeconds: number;
  readonly targets: TargetName[];
  readonly isProfile: boolean;
}

function parseOptions(): Options {
  const { values } = parseArgs({
    options: {
      rounds: { type: 'string', default: '3' },
      duration: { type: 'string', default: '10' },
      warmup: { type: 'string', default: '2' },
      targets: { type: 'string', default: TARGET_NAMES.join(',') },
      profile: { type: 'boolean', default: false },
    },
  });
  const integer = (flag: string, text: string, min: number): number => {
    const n = Number(text);
    if (!Number.isInteger(n) || n < min) fail(`--${flag}: expected an integer >= ${min}, got ${JSON.stringify(text)}`);
    return n;
  };
  const targets = values.targets.split(',').map((t) => t.trim()).filter((t) => t !== '');
  const unknown = targets.filter((t) => !(TARGET_NAMES as readonly string[]).includes(t));
  if (unknown.length > 0 || targets.length === 0) fail(`--targets: expected a comma-separated subset of ${TARGET_NAMES.join(',')}, got ${JSON.stringify(values.targets)}`);
  return {
    rounds: integer('rounds', values.rounds, 1),
    durationSeconds: integer('duration', values.duration, 1),
    warmupSeconds: integer('warmup', values.warmup, 0),
    // keep the canonical order whatever order the flag used
    targets: TARGET_NAMES.filter((t) => targets.includes(t)),
    isProfile: values.profile,
  };
}

function fail(message: string): never {
  process.stderr.write(`bench: ${message}\n`);
  process.exit(2);
}

function log(message: string): void {
  process.stdout.write(`${message}\n`);
}

function machine(): Machine {
  const wrk = spawnSync(WRK_BIN, ['-v'], { encoding: 'utf8' });
  return {
    cores: cpus().length,
    cpuModel: cpus()[0]?.model.trim() ?? 'unknown CPU',
    kernel: release(),
    nodeVersion: process.version,
    nginxVersion: nginxVersion(),
    wrkVersion: /wrk (\S+)/.exec(`${wrk.stdout}${wrk.stderr}`)?.[1],
    clockTicksPerSecond: clockTicksPerSecond(),
  };
}

async function measure(target: Target, scenario: Scenario, round: number, options: Options, ticksPerSecond: number, isProfiled: boolean): Promise<Measurement> {
  const run = { url: target.url, connections: scenario.connections };
  if (options.warmupSeconds > 0) await runWrk({ ...run, durationSeconds: options.warmupSeconds });
  const pids = target.pids();
  const ticks = (): number => pids.reduce((sum, pid) => sum + cpuTicks(pid), 0);
  const before = ticks();
  const result = await runWrk({ ...run, durationSeconds: options.durationSeconds });
  const cpuSeconds = (ticks() - before) / ticksPerSecond;
  const cpuUsPerRequest = result.requests > 0 ? (cpuSeconds * 1e6) / result.requests : 0;
  const m: Measurement = { round, scenario: scenario.key, target: target.name, ...result, cpuUsPerRequest, isProfiled };
  const errors = m.socketErrors + m.non2xx3xx > 0 ? `  (${m.socketErrors} socket errors, ${m.non2xx3xx} non-2xx/3xx)` : '';
  log(`  ${target.name.padEnd(8)} ${m.rps.toFixed(0).padStart(7)} rps  p50 ${m.p50Ms.toFixed(2)} ms  p99 ${m.p99Ms.toFixed(2)} ms  ${m.cpuUsPerRequest.toFixed(1)} CPU µs/req${errors}`);
  return m;
}

/** One round for one body size: fresh proxies, then every connection count, every target in turn. */
async function runBody(body: (typeof BODY_SIZES)[number], backend: Backend, round: number, options: Options, ctx: { tmpDir: string; profileDir: string; ticksPerSecond: number }): Promise<Measurement[]> {
  // rotate the order each round so no target always runs first (or right after the same one)
  const order = options.targets.map((_, i) => options.targets[(i + round - 1) % options.targets.length] as TargetName);
  const running = new Map<TargetName, Target>();
  const measurements: Measurement[] = [];
  try {
    for (const name of order) running.set(name, await startTarget(name, backend, { tmpDir: ctx.tmpDir }));
    for (const connections of CONNECTIONS) {
      const scenario = scenarioOf(body, connections);
      log(`round ${round}/${options.rounds}: ${scenario.label}`);
      for (const name of order) {
        const isProfiled = options.isProfile && name === 'sibyl' && scenario.key === GOAL_SCENARIO;
        // the profiled Sibyl is a process of its own, so the profile covers this scenario only
        const target = isProfiled ? await startTarget('sibyl', backend, { tmpDir: ctx.tmpDir, profileDir: ctx.profileDir }) : running.get(name);
        if (target === undefined) continue;
        try {
          measurements.push(await measure(target, scenario, round, options, ctx.ticksPerSecond, isProfiled));
        } finally {
          if (isProfiled) await target.stop();
        }
      }
    }
  } finally {
    for (const target of running.values()) await target.stop();
  }
  return measurements;
}

function scenarioOf(body: (typeof BODY_SIZES)[number], connections: number): Scenario {
  return { key: `${body.name}-${connections}`, label: `${body.label}, ${connections} connections`, bodyBytes: body.bytes, connections };
}

async function main(tmpDir: string): Promise<void> {
  const options = parseOptions();
  try {
    accessSync(WRK_BIN, constants.X_OK);
  } catch {
    fail(`wrk not found at ${WRK_BIN} (apt-get install wrk, or set WRK=/path/to/wrk)`);
  }
  const skipped: string[] = [];
  let targets = options.targets;
  if (targets.includes('nginx') && !hasNginx()) {
    const message = `nginx not found at ${NGINX_BIN} (apt-get install nginx, or set NGINX=/path/to/nginx): the nginx target is skipped and no ratio to nginx can be computed`;
    process.stderr.write(`\n${'!'.repeat(100)}\n!!! ${message}\n${'!'.repeat(100)}\n\n`);
    skipped.push(message);
    targets = targets.filter((t) => t !== 'nginx');
  }
  const run: Options = { ...options, targets };
  const profileDir = join(RESULTS_DIR, 'prof');
  mkdirSync(run.isProfile ? profileDir : RESULTS_DIR, { recursive: true });
  const info = machine();
  const startedAt = new Date().toISOString();
  log(`bench: ${run.rounds} round(s) of ${run.durationSeconds} s (+${run.warmupSeconds} s warm-up), targets ${targets.join(', ')}; ${info.cores} cores, Node ${info.nodeVersion}, nginx ${info.nginxVersion ?? '-'}`);

  const model = benchModel();
  log(`bench: model: predict ${model.predictNs.toFixed(0)} ns, learner ${Math.round(model.learnEventsPerSecond)} events/s, labelling ${model.labelNsPerRequest.toFixed(0)} ns/request`);
  const backends = new Map<number, Backend>();
  for (const body of BODY_SIZES) backends.set(body.bytes, await startBackend(body.bytes));
  const measurements: Measurement[] = [];
  for (let round = 1; round <= run.rounds; round++) {
    for (const body of BODY_SIZES) {
      const backend = backends.get(body.bytes) as Backend;
      measurements.push(...(await runBody(body, backend, round, run, { tmpDir, profileDir, ticksPerSecond: info.clockTicksPerSecond })));
    }
  }
  for (const backend of backends.values()) await backend.stop();

  const scenarios = BODY_SIZES.flatMap((body) => CONNECTIONS.map((c) => scenarioOf(body, c)));
  const results: BenchResults = { startedAt, finishedAt: new Date().toISOString(), machine: info, options: run, scenarios, skipped, measurements, model };
  const rawPath = join(RESULTS_DIR, `${startedAt.replace(/[:.]/g, '-')}.json`);
  writeFileSync(rawPath, `${JSON.stringify(results, null, 2)}\n`);
  writeFileSync(REPORT_PATH, renderReport(results));
  log(`\nbench: issue targets (small body, 64 connections): ${verdict(results)}`);
  log(`bench: wrote ${REPORT_PATH} and ${rawPath}${run.isProfile ? `; CPU profiles in ${profileDir}` : ''}`);
}

const tmpDir = mkdtempSync(join(tmpdir(), 'sibyl-bench-'));
let isAborting = false;
const cleanUp = async (): Promise<void> => {
  await stopAll();
  rmSync(tmpDir, { recursive: true, force: true });
};
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (isAborting) return;
    isAborting = true;
    process.stderr.write(`\nbench: ${signal}: stopping every process it started\n`);
    void cleanUp().finally(() => process.exit(130));
  });
}
// whatever happens (even process.exit), nothing started here outlives the bench
process.on('exit', () => {
  killAllSync();
  rmSync(tmpDir, { recursive: true, force: true });
});

try {
  await main(tmpDir);
  await cleanUp();
} catch (error) {
  if (!isAborting) {
    process.stderr.write(`bench: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    await cleanUp();
    process.exitCode = 1;
  }
}
