// Runs wrk against one URL and parses its `--latency` report.
import { spawnTracked, stopProcess } from './processes.ts';

export const WRK_BIN = process.env.WRK ?? '/usr/bin/wrk';

export interface WrkResult {
  readonly requests: number;
  readonly seconds: number;
  readonly rps: number;
  readonly p50Ms: number;
  readonly p90Ms: number;
  readonly p99Ms: number;
  /** connect + read + write + timeout socket errors. */
  readonly socketErrors: number;
  readonly non2xx3xx: number;
}

export interface WrkRun {
  readonly url: string;
  readonly connections: number;
  readonly durationSeconds: number;
}

export async function runWrk(run: WrkRun): Promise<WrkResult> {
  const args = ['-t1', `-c${run.connections}`, `-d${run.durationSeconds}s`, '--latency', run.url];
  const wrk = spawnTracked('wrk', WRK_BIN, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  wrk.proc.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  wrk.proc.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  // wrk stops by itself; the guard is for a wedged run
  const guard = setTimeout(() => void stopProcess(wrk, 'SIGKILL'), (run.durationSeconds + 30) * 1000);
  const code = await wrk.exited;
  clearTimeout(guard);
  if (code !== 0) throw new Error(`wrk ${args.join(' ')} exited with ${String(code)}:\n${output}`);
  return parseWrk(output);
}

/** Parses wrk 4 output; latencies come back in milliseconds. */
export function parseWrk(output: string): WrkResult {
  const done = /(\d+) requests in ([\d.]+)(us|ms|s|m|h)/.exec(output);
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(output);
  if (done === null || rps === null) throw new Error(`cannot parse wrk output:\n${output}`);
  const errors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(output);
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(output);
  return {
    requests: Number(done[1]),
    seconds: toMs(Number(done[2]), done[3] ?? 's') / 1000,
    rps: Number(rps[1]),
    p50Ms: percentile(output, 50),
    p90Ms: percentile(output, 90),
    p99Ms: percentile(output, 99),
    socketErrors: errors === null ? 0 : errors.slice(1).reduce((sum, n) => sum + Number(n), 0),
    non2xx3xx: non2xx === null ? 0 : Number(non2xx[1]),
  };
}

function percentile(output: string, p: number): number {
  const match = new RegExp(`^\\s+${p}%\\s+([\\d.]+)(us|ms|s|m|h)\\s*$`, 'm').exec(output);
  if (match === null) throw new Error(`no ${p}% line in wrk output (was --latency given?):\n${output}`);
  return toMs(Number(match[1]), match[2] ?? 'ms');
}

const MS_PER_UNIT: Record<string, number> = { us: 0.001, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

function toMs(value: number, unit: string): number {
  return value * (MS_PER_UNIT[unit] ?? Number.NaN);
}
