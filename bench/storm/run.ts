// `npm run experiment`: the live retry-storm experiment (issue #4, proof part 2). Real Sibyl
// processes, real capacity-limited backends and real retrying clients from npm (got, axios with
// axios-retry, undici's RetryAgent), in the simulator's three scenarios, against Sibyl with its
// defaults, Sibyl as a plain round robin, nginx and a tuned HAProxy (when installed). Loopback
// only; every run is bounded in time. Writes docs/retry-storms-live.md and bench/results/storm-*.json.
// Issue #20's tight-concurrency scenario (backends of 2 slots, six client libraries, 60 -> 130 -> 60 %)
// compares nginx, a tuned HAProxy and Sibyl's defaults, and prints PASS/FAIL per Done-when figure.
// Usage: npm run experiment -- [--scenarios metastable,brownout] [--proxies sibyl,nginx]
//        [--reuse bench/results/storm-X.json]  (runs of other scenarios from an earlier file join the report)
//        [--out docs/retry-storms-live.md]  (where the report goes)
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { endOfArrivalsMs } from '../../sim/storm/scenarios.ts';
import { formatChecks, tightConcurrencyChecks } from './done-when.ts';
import { delay, killAllSync, spawnTracked, stopAll, stopProcess, waitForJsonLine, type Tracked } from '../processes.ts';
import { analyseRun, type CallRecord, type RunFigures } from './live-analysis.ts';
import { binaryFor, isInstalled, LIVE_PROXY_SUMMARIES, LiveProxyNames, startLiveProxy, type LiveProxyName } from './live-proxies.ts';
import { arrivalSchedule, liveCapacityRps, liveScenario, LiveScenarioNames, type LiveScenario, type LiveScenarioName } from './live-scenarios.ts';
import { renderLiveReport } from './live-report.ts';
import { sampleSibyl, type ShedSample } from './sibyl-sampler.ts';

const ROOT = new URL('../..', import.meta.url).pathname;
const BACKENDS = new URL('./capacity-backends.ts', import.meta.url).pathname;
const CLIENT = new URL('./retrying-client.ts', import.meta.url).pathname;
/** Time the client processes get to load their libraries before the first arrival. */
const CLIENT_START_MS = 3_000;
/** After the last arrival: retries of started requests finish (got: 1 s + 2 s backoff, undici up to 15 s). */
const CLIENT_GRACE_MS = 40_000;

export interface LiveRun {
  readonly scenario: LiveScenarioName;
  readonly proxy: LiveProxyName;
  readonly figures: RunFigures;
  readonly backendWork: { served: number; wasted: number; refused: number };
  /** The backends' work from the trigger's start to its end. */
  readonly backendWorkDuring: { served: number; wasted: number; refused: number };
  /** Sibyl only: its load-shedding state, once a second. */
  readonly shedSamples?: readonly ShedSample[];
}

function parseList<T extends string>(flag: string, text: string, allowed: readonly T[]): T[] {
  const items = text.split(',').map((s) => s.trim()).filter((s) => s !== '');
  for (const item of items) if (!allowed.includes(item as T)) throw new Error(`--${flag}: unknown "${item}"; one of ${allowed.join(', ')}`);
  return items as T[];
}

async function startBackends(s: LiveScenario): Promise<{ proc: Tracked; ports: number[] }> {
  const f = s.fleet;
  const args = [BACKENDS, '--count', String(f.backends), '--workers', String(f.workers), '--service-ms', String(f.serviceMs), '--service-spread', String(f.serviceSpread), '--backlog', String(f.backlog), '--contention', String(f.contention)];
  const proc = spawnTracked('capacity backends', process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  const ready = await waitForJsonLine(proc, (line) => Array.isArray(line.ports));
  return { proc, ports: ready.ports as number[] };
}

async function setMode(ports: readonly number[], s: LiveScenario, isOn: boolean): Promise<void> {
  const t = s.trigger;
  if (t.capacityFactor === undefined && t.slowFactor === undefined && t.isFailingFast === undefined) return; // a load trigger
  const affected = t.backendIndices ?? ports.map((_, i) => i);
  const mode = isOn ? { capacityFactor: t.capacityFactor ?? 1, slowFactor: t.slowFactor ?? 1, isFailingFast: t.isFailingFast ?? false } : {};
  await Promise.all(affected.map((i) => fetch(`http://127.0.0.1:${ports[i]}/__control`, { method: 'POST', body: JSON.stringify(mode) })));
}

const minus = (a: LiveRun['backendWork'], b: LiveRun['backendWork']): LiveRun['backendWork'] => ({ served: a.served - b.served, wasted: a.wasted - b.wasted, refused: a.refused - b.refused });

async function backendWork(ports: readonly number[]): Promise<LiveRun['backendWork']> {
  const total = { served: 0, wasted: 0, refused: 0 };
  for (const port of ports) {
    const stats = (await (await fetch(`http://127.0.0.1:${port}/__stats`)).json()) as typeof total;
    total.served += stats.served;
    total.wasted += stats.wasted;
    total.refused += stats.refused;
  }
  return total;
}

function startClient(lib: string, index: number, url: string, startAt: number, s: LiveScenario): { proc: Tracked; output: Promise<string> } {
  const args = [CLIENT, '--lib', lib, '--url', url, '--start-at', String(startAt), '--schedule', JSON.stringify(arrivalSchedule(s, 1 / s.libraries.length)), '--timeout-ms', String(s.clientTimeoutMs)];
  if (s.hasDistinctAddresses) args.push('--local-address', `127.0.0.${11 + index}`);
  const proc = spawnTracked(`client ${lib}`, process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  const chunks: Buffer[] = [];
  proc.proc.stdout?.on('data', (c: Buffer) => chunks.push(c));
  return { proc, output: proc.exited.then(() => Buffer.concat(chunks).toString('utf8')) };
}

async function runOne(s: LiveScenario, proxyName: LiveProxyName, tmpDir: string): Promise<LiveRun> {
  const backends = await startBackends(s);
  const proxy = await startLiveProxy(proxyName, backends.ports, s.fleet, tmpDir);
  try {
    const startAt = Date.now() + CLIENT_START_MS;
    const clients = s.libraries.map((lib, i) => ({ lib, ...startClient(lib, i, proxy.url, startAt, s) }));
    const stopSampling = new AbortController();
    const sampling = proxy.adminUrl === undefined ? Promise.resolve(undefined) : sampleSibyl(proxy.adminUrl, startAt, stopSampling.signal);
    const triggerStart = startAt + s.timeline.warmupMs + s.timeline.beforeMs;
    await delay(triggerStart - Date.now());
    await setMode(backends.ports, s, true);
    const workAtStart = await backendWork(backends.ports);
    await delay(triggerStart + s.timeline.duringMs - Date.now());
    await setMode(backends.ports, s, false);
    const backendWorkDuring = minus(await backendWork(backends.ports), workAtStart);
    const hardStop = setTimeout(() => clients.forEach((c) => void stopProcess(c.proc, 'SIGKILL')), endOfArrivalsMs(s.timeline) + CLIENT_GRACE_MS);
    const records = new Map<string, CallRecord[]>();
    for (const c of clients) {
      const text = await c.output;
      const line = text.trim().split('\n').pop() ?? '';
      if (!line.startsWith('{')) throw new Error(`client ${c.lib} gave no result (killed after ${CLIENT_GRACE_MS} ms grace?)`);
      records.set(c.lib, (JSON.parse(line) as { records: CallRecord[] }).records);
    }
    clearTimeout(hardStop);
    stopSampling.abort();
    const shedSamples = await sampling;
    return { scenario: s.name, proxy: proxyName, figures: analyseRun(records, s.timeline), backendWork: await backendWork(backends.ports), backendWorkDuring, ...(shedSamples === undefined ? {} : { shedSamples }) };
  } finally {
    await proxy.stop();
    await stopProcess(backends.proc);
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      scenarios: { type: 'string', default: LiveScenarioNames.join(',') },
      proxies: { type: 'string', default: LiveProxyNames.join(',') },
      reuse: { type: 'string' },
      out: { type: 'string', default: join(ROOT, 'docs', 'retry-storms-live.md') },
    },
  });
  const reused = values.reuse === undefined ? [] : (JSON.parse(readFileSync(values.reuse, 'utf8')) as { runs: LiveRun[] }).runs;
  const scenarios = parseList('scenarios', values.scenarios, LiveScenarioNames);
  const requested = parseList('proxies', values.proxies, LiveProxyNames);
  const proxies = requested.filter((p) => {
    const bin = binaryFor(p);
    if (bin === undefined || isInstalled(bin)) return true;
    process.stderr.write(`experiment: ${p} skipped: ${bin} is not installed (apt-get install ${p === 'nginx' ? 'nginx-light' : 'haproxy'})\n`);
    return false;
  });
  const loadAtStart = loadavg()[0] ?? 0;
  const tmpDir = mkdtempSync(join(tmpdir(), 'sibyl-experiment-'));
  const runs: LiveRun[] = reused.filter((r) => !scenarios.includes(r.scenario));
  const atIso = new Date().toISOString();
  mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
  const resultsPath = join(ROOT, 'bench', 'results', `storm-${atIso.replace(/[:.]/g, '-')}.json`);
  try {
    for (const name of scenarios) {
      const s = liveScenario(name);
      for (const proxy of proxies.filter((p) => s.proxies.includes(p))) {
        process.stderr.write(`experiment: ${name} x ${proxy} (${Math.round(endOfArrivalsMs(s.timeline) / 1000)} s of traffic)\n`);
        const run = await runOne(s, proxy, tmpDir);
        runs.push(run);
        // after every run: a later failure must not lose the runs already made
        writeFileSync(resultsPath, JSON.stringify({ atIso, runs }, null, 2));
        const [, during, after] = run.figures.phases;
        process.stderr.write(
          `  during: goodput ${during?.goodputRps.toFixed(0)}/s by arrival, ${during?.goodputByEndRps.toFixed(1)}/s by completion, ${during?.attemptsPerRequest.toFixed(2)} attempts/request, p99 ${during?.p99AllMs.toFixed(0)} ms; success after ${after?.successShare.toFixed(3)}; recovery ${run.figures.recoverySeconds ?? 'never'} s\n`,
        );
      }
    }
  } finally {
    await stopAll();
    rmSync(tmpDir, { recursive: true, force: true });
  }
  const machine = `${cpus().length} x ${cpus()[0]?.model ?? 'unknown CPU'}, Node ${process.version}`;
  const report = renderLiveReport({ atIso, machine, runs, scenarios: LiveScenarioNames.filter((n) => runs.some((r) => r.scenario === n)).map(liveScenario), loadAverage: [loadAtStart, loadavg()[0] ?? 0], summaries: LIVE_PROXY_SUMMARIES });
  writeFileSync(values.out, report);
  process.stdout.write(report);
  const sibyl = runs.find((r) => r.scenario === 'tight-concurrency' && r.proxy === 'sibyl');
  if (sibyl !== undefined) {
    const haproxy = runs.find((r) => r.scenario === 'tight-concurrency' && r.proxy === 'haproxy-tuned');
    const checks = tightConcurrencyChecks(sibyl, haproxy, liveCapacityRps(liveScenario('tight-concurrency').fleet));
    process.stdout.write(`\ntight-concurrency, Sibyl (defaults) against issue #20's Done-when:\n${formatChecks(checks).join('\n')}\n`);
  }
}

process.once('SIGINT', () => {
  killAllSync();
  process.exit(130);
});
await main();
