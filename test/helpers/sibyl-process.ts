// Runs the real `sibyl` binary from a TOML fixture and finds its ports from its startup log line.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

export const SIBYL_BIN = new URL('../../bin/sibyl.js', import.meta.url).pathname;

export interface SibylProcess {
  readonly proc: ChildProcess;
  readonly proxyUrl: string;
  readonly adminUrl: string;
  readonly configPath: string;
  readonly logLines: string[];
  /** Resolves with the exit code. */
  readonly exited: Promise<number | null>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  waitForLog(predicate: (line: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
}

export async function writeTempConfig(text: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'sibyl-test-'));
  const path = join(dir, 'sibyl.toml');
  await writeFile(path, text);
  return path;
}

export async function startSibyl(configText: string, options: { env?: Record<string, string>; timeoutMs?: number; args?: readonly string[] } = {}): Promise<SibylProcess> {
  const configPath = await writeTempConfig(configText);
  const proc = spawn(process.execPath, [SIBYL_BIN, 'serve', '--config', configPath, ...(options.args ?? [])], {
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logLines: string[] = [];
  const waiters: { predicate: (l: Record<string, unknown>) => boolean; resolve: (l: Record<string, unknown>) => void }[] = [];
  const stderr: string[] = [];
  proc.stderr?.on('data', (d: Buffer) => stderr.push(d.toString()));
  createInterface({ input: proc.stdout! }).on('line', (line) => {
    logLines.push(line);
    let parsed: Record<string, unknown>;
    try {
      parsed = JSON.parse(line) as Record<string, unknown>;
    } catch {
      return;
    }
    for (const w of [...waiters]) {
      if (w.predicate(parsed)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(parsed);
      }
    }
  });
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  const waitForLog = (predicate: (l: Record<string, unknown>) => boolean, timeoutMs = 10_000): Promise<Record<string, unknown>> => {
    for (const line of logLines) {
      try {
        const parsed = JSON.parse(line) as Record<string, unknown>;
        if (predicate(parsed)) return Promise.resolve(parsed);
      } catch {
        // not JSON
      }
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`log line not seen in ${timeoutMs} ms; stderr: ${stderr.join('')}; stdout: ${logLines.slice(-10).join('\n')}`)), timeoutMs);
      waiters.push({ predicate, resolve: (l) => (clearTimeout(timer), resolve(l)) });
      void exited.then(() => reject(new Error(`sibyl exited; stderr: ${stderr.join('')}; stdout: ${logLines.slice(-10).join('\n')}`)));
    });
  };
  const serving = await waitForLog((l) => l.msg === 'sibyl is serving', options.timeoutMs ?? 15_000);
  const proxy = serving.proxy as { port: number };
  const admin = serving.admin as { port: number } | undefined;
  return {
    proc,
    proxyUrl: `http://127.0.0.1:${proxy.port}`,
    adminUrl: `http://127.0.0.1:${admin?.port ?? 0}`,
    configPath,
    logLines,
    exited,
    waitForLog,
    async stop(signal = 'SIGTERM') {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      return exited;
    },
  };
}

/** Polls until fn returns a truthy value or the deadline passes (no fixed sleeps in tests). */
export async function eventually<T>(fn: () => Promise<T> | T, timeoutMs = 10_000, intervalMs = 25): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await fn();
      if (value) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`condition not met in ${timeoutMs} ms${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
