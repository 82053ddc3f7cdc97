// Scores Sibyl's client-retry predictions and labels against what real HTTP client libraries did.
// Usage: npm run bench:retry-identity [-- --quick] [-- --write] [-- --sibyl-main PATH] [-- --dump FILE] [-- --warmup-rounds N]
//   --quick          two short profiles (healthy, flaky_5xx) and a 6 s retry window: ~20 s, for the e2e test
//   --write          rewrites the retry-identity section of docs/retry-prediction.md
//   --sibyl-main     another checkout's src/main.ts (e.g. to compare before and after a change)
//   --dump           writes one NDJSON line per scored attempt (transport errors included) joined with
//                    Sibyl's record (breakdown.ts, JoinedResponse)
//   --warmup-rounds  runs the whole profile sequence N times (default 0) against the same Sibyl process,
//                    unscored, before the scored sequence
// Always exits 0 once it has measured: the verdict line says how Sibyl did.
import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { startApiFleet } from './api-backends.ts';
import type { AttemptRecord, LogicalRequestLog } from './attempt-recorder.ts';
import { createLibraryClient, LIBRARY_NAMES, LIBRARY_POLICIES } from './client-libraries.ts';
import { diagnose } from './diagnostics.ts';
import { FAULT_PROFILES, modesAt, type FaultProfile } from './profiles.ts';
import { calibrationOf, joinResponses, renderCalibration, writeDump } from './breakdown.ts';
import { FIGURES, overallLine, renderMarkdown, verdictsOf, writeDocsSection, type RetryIdentityResult } from './report.ts';
import { joinSibylRecords, readTelemetry } from './sibyl-records.ts';
import { CLIP, scoreGroup } from './scoring.ts';
import { startSibylUnderTest } from './sibyl-under-test.ts';
import { runInstanceTraffic, type ClientInstance } from './traffic.ts';

export interface RetryIdentityOptions {
  readonly isQuick?: boolean;
  readonly isWrite?: boolean;
  /** src/main.ts of the Sibyl to measure; this checkout's by default. */
  readonly sibylMain?: string;
  readonly command?: string;
  /** NDJSON file for one line per scored attempt joined with Sibyl's record. */
  readonly dumpPath?: string;
  /** Unscored runs of the whole profile sequence before the scored one (default 0). */
  readonly warmupRounds?: number;
  readonly log?: (line: string) => void;
}

const DOC_PATH = new URL('../../docs/retry-prediction.md', import.meta.url).pathname;
const INSTANCES_PER_LIBRARY = 2;
const RATE_PER_INSTANCE = 9;
const REPEAT_SHARE = 0.1;
/** Sibyl's default retry window; quick mode shortens it so that it can wait for every label. */
const DEFAULT_WINDOW_SECONDS = 30;
const QUICK_WINDOW_SECONDS = 6;

/** Applies each profile's phases in turn; returns the profile in force and a stop function. */
function runSchedule(profiles: readonly FaultProfile[], profileMs: number, startMs: number, setModes: (m: ReturnType<typeof modesAt>) => void): { profileNow: () => string; stop: () => void } {
  const indexNow = (): number => Math.min(profiles.length - 1, Math.floor((Date.now() - startMs) / profileMs));
  // a request belongs to the profile whose faults are in force, not the one the clock has reached
  let applied = 0;
  const tick = (): void => {
    const i = indexNow();
    setModes(modesAt(profiles[i]!, (Date.now() - startMs - i * profileMs) / profileMs));
    applied = i;
  };
  tick();
  const timer = setInterval(tick, 100);
  return { profileNow: () => profiles[applied]!.name, stop: () => clearInterval(timer) };
}

interface SequenceRun {
  readonly trafficStart: number;
  readonly logs: LogicalRequestLog[];
}

/** One pass of the whole profile sequence by every instance; resolves once every logical request is over (or the drain deadline passed). */
async function runSequence(instances: readonly ClientInstance[], profiles: readonly FaultProfile[], profileMs: number, drainMs: number, setModes: (m: ReturnType<typeof modesAt>) => void): Promise<SequenceRun> {
  const trafficStart = Date.now();
  const untilMs = trafficStart + profiles.length * profileMs;
  const schedule = runSchedule(profiles, profileMs, trafficStart, setModes);
  const plan = { ratePerSecond: RATE_PER_INSTANCE, untilMs, maxLogicalRequests: Math.ceil((RATE_PER_INSTANCE * 3 * (untilMs - trafficStart)) / 1000), repeatShare: REPEAT_SHARE, profileNow: schedule.profileNow };
  const logsByInstance = await Promise.all(instances.map((i) => runInstanceTraffic(i, plan, untilMs + drainMs)));
  schedule.stop();
  setModes({});
  return { trafficStart, logs: logsByInstance.flat() };
}

export async function runRetryIdentity(options: RetryIdentityOptions = {}): Promise<RetryIdentityResult> {
  const log = options.log ?? ((line: string) => process.stdout.write(`${line}\n`));
  const isQuick = options.isQuick === true;
  const warmupRounds = options.warmupRounds ?? 0;
  const profiles = isQuick ? FAULT_PROFILES.filter((p) => p.name === 'healthy' || p.name === 'flaky_5xx') : FAULT_PROFILES;
  const profileMs = isQuick ? 5_000 : 22_000;
  const windowSeconds = isQuick ? QUICK_WINDOW_SECONDS : DEFAULT_WINDOW_SECONDS;
  const started = Date.now();
  const fleet = await startApiFleet(3);
  const dir = await mkdtemp(join(tmpdir(), 'sibyl-retry-identity-'));
  const sibyl = await startSibylUnderTest(fleet.backends, dir, { retryWindow: isQuick ? `${QUICK_WINDOW_SECONDS}s` : undefined, mainPath: options.sibylMain });
  const instances: (ClientInstance & { localAddress: string })[] = [];
  try {
    LIBRARY_NAMES.forEach((library, li) => {
      for (let k = 0; k < INSTANCES_PER_LIBRARY; k++) {
        const n = li * INSTANCES_PER_LIBRARY + k;
        const localAddress = `127.0.0.${11 + n}`;
        const token = library === 'aws-sdk-dynamodb' ? `AKIDRETRYIDENTITY${n}` : `token-${library}-${k}-${started.toString(36)}`;
        instances.push({ library, name: `${library}#${k + 1}`, localAddress, client: createLibraryClient(library, { proxyUrl: sibyl.proxyUrl, token, localAddress }) });
      }
    });
    log(`retry-identity: Sibyl at ${sibyl.proxyUrl}, ${instances.length} client instances, profiles ${profiles.map((p) => p.name).join(', ')} (${profileMs / 1000} s each), retry window ${windowSeconds} s${warmupRounds > 0 ? `, ${warmupRounds} unscored warm-up round(s) first` : ''}`);
    const drainMs = isQuick ? 9_000 : 30_000;
    const setModes = (modes: ReturnType<typeof modesAt>): void => fleet.setModes(modes);
    // warm-up: the same traffic, unscored; what Sibyl recorded for it is left out of the scores and diagnostics
    const warmupLogs: LogicalRequestLog[] = [];
    for (let round = 1; round <= warmupRounds; round++) {
      const warm = await runSequence(instances, profiles, profileMs, drainMs, setModes);
      warmupLogs.push(...warm.logs);
      log(`retry-identity: warm-up round ${round}/${warmupRounds}: ${warm.logs.length} logical requests (unscored)`);
    }
    // every access-log line so far is a warm-up response (including those no client saw)
    const warmupLines = sibyl.stdoutLines.length;
    const { trafficStart, logs } = await runSequence(instances, profiles, profileMs, drainMs, setModes);
    const attempts: AttemptRecord[] = logs.filter((l) => l.isClosed).flatMap((l) => l.attempts);
    // every label is known one window after the last response: wait for it, then stop Sibyl so it flushes
    const lastEnd = Math.max(...attempts.map((a) => a.endedAtMs ?? a.sentAtMs));
    const waitMs = lastEnd + windowSeconds * 1000 + 2_000 - Date.now();
    log(`retry-identity: ${logs.length} logical requests, ${attempts.length} attempts; waiting ${(Math.max(0, waitMs) / 1000).toFixed(1)} s for Sibyl's last labels`);
    if (waitMs > 0) await sleep(waitMs);
    await sibyl.stop();
    const records = joinSibylRecords(await readTelemetry(sibyl.telemetryPath), sibyl.stdoutLines);
    if (warmupRounds > 0) {
      // read at the end: a warm-up request still open at its round's drain deadline may have been answered since
      const warmupIds = new Set(warmupLogs.flatMap((l) => l.attempts.flatMap((a) => (a.requestId === undefined ? [] : [a.requestId]))));
      for (const id of joinSibylRecords([], sibyl.stdoutLines.slice(0, warmupLines)).keys()) warmupIds.add(id);
      for (const id of warmupIds) records.delete(id);
    }
    const profileStart = (name: string): number => trafficStart + profiles.findIndex((p) => p.name === name) * profileMs;
    const joined = joinResponses(attempts, records, profileStart);
    if (options.dumpPath !== undefined) {
      await writeDump(options.dumpPath, joined);
      log(`retry-identity: wrote ${joined.length} joined responses to ${options.dumpPath}`);
    }
    const profileResults = profiles.map((p) => {
      const score = scoreGroup(
        attempts.filter((a) => a.profile === p.name),
        records,
      );
      return { name: p.name, summary: p.summary, score, verdicts: verdictsOf(score) };
    });
    const verdicts = profileResults.flatMap((p) => FIGURES.map((f) => p.verdicts[f]));
    const result: RetryIdentityResult = {
      mode: isQuick ? 'quick' : 'full',
      command: options.command ?? `npm run bench:retry-identity${isQuick ? ' -- --quick' : ''}`,
      startedAt: new Date(started).toISOString(),
      runtimeMs: Date.now() - started,
      sibylMain: options.sibylMain ?? 'src/main.ts',
      retryWindow: `${windowSeconds} s${isQuick ? ' (quick mode)' : ' (default)'}`,
      warmupRounds,
      profileSeconds: profileMs / 1000,
      ratePerSecond: RATE_PER_INSTANCE * instances.length,
      instances: instances.length,
      profiles: profileResults,
      libraries: LIBRARY_NAMES.map((name) => {
        const own = logs.filter((l) => l.library === name);
        return { name, policy: LIBRARY_POLICIES[name], logicalRequests: own.length, unfinished: own.filter((l) => !l.isClosed).length, score: scoreGroup(attempts.filter((a) => a.library === name), records) };
      }),
      calibration: profiles.map((p) => calibrationOf(p.name, joined, LIBRARY_NAMES)),
      diagnostics: diagnose(attempts, records, new Map(instances.map((i) => [i.name, i.localAddress]))),
      overall: { passed: verdicts.filter((v) => v === 'PASS').length, failed: verdicts.filter((v) => v === 'FAIL').length, notApplicable: verdicts.filter((v) => v === 'n/a').length },
    };
    const markdown = renderMarkdown(result);
    log(markdown);
    log(`\n${renderCalibration(result.calibration, CLIP)}`);
    if (options.isWrite === true) {
      await writeDocsSection(DOC_PATH, markdown, profiles);
      log(`retry-identity: wrote the retry-identity section of ${DOC_PATH}`);
    }
    return result;
  } finally {
    await sibyl.stop();
    await Promise.all(instances.map((i) => i.client.close().catch(() => undefined)));
    await fleet.close();
    // for a closer look at what Sibyl recorded (features, labels): SIBYL_RI_KEEP_TELEMETRY=FILE
    const keep = process.env.SIBYL_RI_KEEP_TELEMETRY;
    if (keep !== undefined && keep !== '') await copyFile(join(dir, 'telemetry.ndjson'), keep).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  }
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: { quick: { type: 'boolean', default: false }, write: { type: 'boolean', default: false }, 'sibyl-main': { type: 'string' }, dump: { type: 'string' }, 'warmup-rounds': { type: 'string', default: '0' } },
  });
  const warmupRounds = Number(values['warmup-rounds']);
  if (!Number.isInteger(warmupRounds) || warmupRounds < 0) throw new Error(`--warmup-rounds wants a whole number >= 0, not ${values['warmup-rounds']}`);
  const args = [
    values.quick ? '--quick' : '',
    values.write ? '--write' : '',
    values['sibyl-main'] !== undefined ? `--sibyl-main ${values['sibyl-main']}` : '',
    values.dump !== undefined ? `--dump ${values.dump}` : '',
    warmupRounds > 0 ? `--warmup-rounds ${warmupRounds}` : '',
  ].filter((a) => a !== '');
  const result = await runRetryIdentity({
    isQuick: values.quick,
    isWrite: values.write,
    sibylMain: values['sibyl-main'],
    dumpPath: values.dump,
    warmupRounds,
    command: `npm run bench:retry-identity${args.length > 0 ? ` -- ${args.join(' ')}` : ''}`,
  });
  process.stdout.write(`${overallLine(result)}\n`);
  process.exit(0);
}
