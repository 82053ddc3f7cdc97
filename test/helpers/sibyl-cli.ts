// Runs the real `sibyl` binary with any arguments and environment: one-shot commands (validate) and
// `serve` without a config file (configured by SIBYL_* variables alone).
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { SIBYL_BIN } from './sibyl-process.ts';

export interface CliResult {
  /** Null when the process was killed at the timeout. */
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** The test runner's environment without SIBYL_* variables, plus `env`. */
function cleanEnv(env: Record<string, string>): Record<string, string | undefined> {
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('SIBYL_')));
  return { ...base, ...env };
}

/** Runs `sibyl ...args` to its end; kills it after timeoutMs (then code is null). */
export function runSibyl(args: readonly string[], options: { env?: Record<string, string>; timeoutMs?: number } = {}): Promise<CliResult> {
  const proc = spawn(process.execPath, [SIBYL_BIN, ...args], { env: cleanEnv(options.env ?? {}), stdio: ['ignore', 'pipe', 'pipe'] });
  const stdout: Buffer[] = [];
  const stderr: Buffer[] = [];
  proc.stdout.on('data', (d: Buffer) => stdout.push(d));
  proc.stderr.on('data', (d: Buffer) => stderr.push(d));
  const timer = setTimeout(() => proc.kill('SIGKILL'), options.timeoutMs ?? 10_000);
  return new Promise((resolve) => {
    proc.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout: Buffer.concat(stdout).toString(), stderr: Buffer.concat(stderr).toString() });
    });
  });
}

export interface ServingSibyl {
  readonly proxyUrl: string;
  readonly adminUrl: string;
  /** Sends the signal and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Starts `sibyl ...args` and waits for its "sibyl is serving" log line. */
export function startServing(args: readonly string[], options: { env?: Record<string, string>; timeoutMs?: number } = {}): Promise<ServingSibyl> {
  const proc = spawn(process.execPath, [SIBYL_BIN, ...args], { env: cleanEnv(options.env ?? {}), stdio: ['ignore', 'pipe', 'pipe'] });
  const stderr: Buffer[] = [];
  proc.stderr.on('data', (d: Buffer) => stderr.push(d));
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  const stop = (signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
    return exited;
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      void stop('SIGKILL');
      reject(new Error(`no "sibyl is serving" line in ${options.timeoutMs ?? 15_000} ms; stderr: ${Buffer.concat(stderr).toString()}`));
    }, options.timeoutMs ?? 15_000);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`sibyl exited with ${code} before serving; stderr: ${Buffer.concat(stderr).toString()}`));
    });
    createInterface({ input: proc.stdout }).on('line', (line) => {
      let parsed: { msg?: string; proxy?: { port: number }; admin?: { port: number } };
      try {
        parsed = JSON.parse(line) as typeof parsed;
      } catch {
        return;
      }
      if (parsed.msg !== 'sibyl is serving' || parsed.proxy === undefined) return;
      clearTimeout(timer);
      resolve({ proxyUrl: `http://127.0.0.1:${parsed.proxy.port}`, adminUrl: `http://127.0.0.1:${parsed.admin?.port ?? 0}`, stop });
    });
  });
}
