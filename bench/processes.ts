// Child processes of the benchmark: spawned, tracked by PID and always stopped, plus /proc CPU readings.
import { spawn, spawnSync, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { createInterface } from 'node:readline';

export interface Tracked {
  readonly proc: ChildProcess;
  readonly pid: number;
  readonly label: string;
  /** Resolves with the exit code (or the signal name) once the process has exited. */
  readonly exited: Promise<number | string | null>;
  hasExited(): boolean;
}

const live = new Set<Tracked>();

export function spawnTracked(label: string, command: string, args: readonly string[], options: SpawnOptions = {}): Tracked {
  const proc = spawn(command, args, options);
  if (proc.pid === undefined) throw new Error(`${label}: could not spawn ${command}`);
  let isDone = false;
  const exited = new Promise<number | string | null>((resolve) => {
    proc.once('exit', (code, signal) => {
      isDone = true;
      live.delete(tracked);
      resolve(code ?? signal);
    });
    // a spawn error (ENOENT...) also ends the process' life as far as we are concerned
    proc.once('error', () => {
      isDone = true;
      live.delete(tracked);
      resolve(null);
    });
  });
  const tracked: Tracked = { proc, pid: proc.pid, label, exited, hasExited: () => isDone };
  live.add(tracked);
  return tracked;
}

/** Sends `signal` to one process by PID; SIGKILL after `graceMs` if it is still alive. */
export async function stopProcess(tracked: Tracked, signal: NodeJS.Signals = 'SIGTERM', graceMs = 10_000): Promise<void> {
  if (tracked.hasExited()) return;
  try {
    process.kill(tracked.pid, signal);
  } catch {
    return; // already gone
  }
  let timer: NodeJS.Timeout | undefined;
  const isKilled = await Promise.race([
    tracked.exited.then(() => false),
    new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), graceMs))),
  ]);
  clearTimeout(timer);
  if (isKilled && !tracked.hasExited()) {
    process.stderr.write(`bench: ${tracked.label} (pid ${tracked.pid}) ignored ${signal} for ${graceMs} ms; sending SIGKILL\n`);
    killQuietly(tracked.pid, 'SIGKILL');
    await tracked.exited;
  }
}

/** Stops every process still alive, one by one by PID. */
export async function stopAll(): Promise<void> {
  await Promise.all([...live].map((t) => stopProcess(t, 'SIGTERM', 5_000)));
}

/** Last resort on process exit: synchronous SIGKILL of whatever is left. */
export function killAllSync(): void {
  for (const t of live) killQuietly(t.pid, 'SIGKILL');
}

function killQuietly(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

/** Resolves with the first stdout line of `tracked` that parses as JSON and satisfies `predicate`. */
export function waitForJsonLine(tracked: Tracked, predicate: (line: Record<string, unknown>) => boolean, timeoutMs = 15_000): Promise<Record<string, unknown>> {
  const stdout = tracked.proc.stdout;
  if (stdout === null) return Promise.reject(new Error(`${tracked.label}: stdout is not a pipe`));
  const stderr: string[] = [];
  tracked.proc.stderr?.on('data', (d: Buffer) => stderr.push(d.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${tracked.label}: no ready line in ${timeoutMs} ms; stderr: ${stderr.join('')}`)), timeoutMs);
    // the reader stays attached so the pipe never fills up
    createInterface({ input: stdout }).on('line', (text) => {
      const parsed = parseJson(text);
      if (parsed !== undefined && predicate(parsed)) {
        clearTimeout(timer);
        resolve(parsed);
      }
    });
    void tracked.exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`${tracked.label} exited (${String(code)}) before it was ready; stderr: ${stderr.join('')}`));
    });
  });
}

/** Polls a log file (written by a process whose stdout is that file) for a JSON line. */
export async function waitForJsonLineInFile(tracked: Tracked, file: string, predicate: (line: Record<string, unknown>) => boolean, timeoutMs = 15_000): Promise<Record<string, unknown>> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    for (const text of readFileSync(file, 'utf8').split('\n')) {
      const parsed = parseJson(text);
      if (parsed !== undefined && predicate(parsed)) return parsed;
    }
    if (tracked.hasExited()) break;
    await delay(50);
  }
  const tail = readFileSync(file, 'utf8').split('\n').slice(-10).join('\n');
  throw new Error(`${tracked.label}: ready line not seen in ${file} (exited: ${tracked.hasExited()}); last lines:\n${tail}`);
}

function parseJson(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A port that was free a moment ago (bind port 0, read it, close). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Resolves once a TCP connection to 127.0.0.1:port succeeds. */
export async function waitForPort(port: number, tracked: Tracked, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && !tracked.hasExited()) {
    const isOpen = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => (socket.destroy(), resolve(true)));
      socket.once('error', () => resolve(false));
    });
    if (isOpen) return;
    await delay(50);
  }
  throw new Error(`${tracked.label}: port ${port} not open after ${timeoutMs} ms (exited: ${tracked.hasExited()})`);
}

/** utime + stime of one process, in clock ticks (all its threads included). */
export function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // fields after "(comm)": state ppid ... utime is field 14, stime field 15 (1-based)
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(rest[11]) + Number(rest[12]);
}

/** PIDs of the direct children of `pid` (e.g. nginx workers of a master). */
export function childPids(pid: number): number[] {
  const children: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) children.push(Number(entry));
    } catch {
      // the process went away while we were looking
    }
  }
  return children;
}

/** Clock ticks per second for /proc/<pid>/stat times (`getconf CLK_TCK`, 100 on Linux). */
export function clockTicksPerSecond(): number {
  const out = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
  const value = Number(out.stdout?.trim());
  return Number.isFinite(value) && value > 0 ? value : 100;
}
