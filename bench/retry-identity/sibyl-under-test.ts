// The real Sibyl, as an operator runs it: `node src/main.ts serve --config FILE`, the config checked
// first with `validate`, every stdout line kept (the access log is read back for scoring), stopped
// with SIGTERM by PID at the end so that it flushes its telemetry.
import { spawnSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { spawnTracked, stopProcess, type Tracked } from '../processes.ts';
import type { ApiBackend } from './api-backends.ts';

const THIS_CHECKOUT_MAIN = new URL('../../src/main.ts', import.meta.url).pathname;

export interface SibylUnderTest {
  readonly proxyUrl: string;
  readonly adminUrl: string;
  readonly telemetryPath: string;
  readonly configText: string;
  /** Every stdout line so far (JSON lines; access-log lines have "log":"access"). */
  readonly stdoutLines: readonly string[];
  /** SIGTERM by PID, then waits for exit (SIGKILL after a grace period). */
  stop(): Promise<void>;
}

/** Only what the brief asks for differs from the defaults: the strategy, the telemetry file, loopback listeners. */
export function sibylConfig(backends: readonly ApiBackend[], telemetryPath: string, retryWindow: string | undefined): string {
  return [
    '# Written by bench/retry-identity: defaults except the strategy, the telemetry file and loopback listeners.',
    '[proxy]',
    'listen_address = "127.0.0.1:0"',
    '',
    '[admin]',
    'listen_address = "127.0.0.1:0"',
    '',
    '[strategy]',
    'algorithm = "adaptive"',
    '',
    '[telemetry]',
    `path = ${JSON.stringify(telemetryPath)}`,
    '',
    ...(retryWindow === undefined ? [] : ['[retry]', `window = "${retryWindow}"`, '']),
    ...backends.map((b) => `[[backends]]\nname = "${b.name}"\naddress = "${b.address}"\n`),
  ].join('\n');
}

function validate(main: string, configPath: string): void {
  const out = spawnSync(process.execPath, [main, 'validate', '--config', configPath], { encoding: 'utf8', timeout: 30_000 });
  if (out.status !== 0) throw new Error(`sibyl validate rejected the harness config (${configPath}):\n${out.stdout}${out.stderr}`);
}

export interface SibylUnderTestOptions {
  /** `[retry] window`; Sibyl's default (30 s) when undefined. */
  readonly retryWindow?: string;
  /** The src/main.ts to run; this checkout's by default. */
  readonly mainPath?: string;
}

export async function startSibylUnderTest(backends: readonly ApiBackend[], dir: string, options: SibylUnderTestOptions = {}): Promise<SibylUnderTest> {
  const main = options.mainPath ?? THIS_CHECKOUT_MAIN;
  const telemetryPath = join(dir, 'telemetry.ndjson');
  const configPath = join(dir, 'sibyl.toml');
  const configText = sibylConfig(backends, telemetryPath, options.retryWindow);
  await writeFile(configPath, configText);
  validate(main, configPath);
  const tracked: Tracked = spawnTracked('sibyl', process.execPath, [main, 'serve', '--config', configPath], { stdio: ['ignore', 'pipe', 'pipe'] });
  const stdoutLines: string[] = [];
  const stderr: string[] = [];
  tracked.proc.stderr?.on('data', (d: Buffer) => stderr.push(d.toString()));
  const serving = await new Promise<{ proxy: { port: number }; admin?: { port: number } }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`sibyl did not start in 20 s; stderr: ${stderr.join('')}`)), 20_000);
    void tracked.exited.then((code) => reject(new Error(`sibyl exited (${String(code)}) before serving; stderr: ${stderr.join('')}`)));
    createInterface({ input: tracked.proc.stdout! }).on('line', (line) => {
      stdoutLines.push(line);
      if (!line.includes('"sibyl is serving"')) return;
      clearTimeout(timer);
      resolve(JSON.parse(line) as { proxy: { port: number }; admin?: { port: number } });
    });
  });
  return {
    proxyUrl: `http://127.0.0.1:${serving.proxy.port}`,
    adminUrl: `http://127.0.0.1:${serving.admin?.port ?? 0}`,
    telemetryPath,
    configText,
    stdoutLines,
    stop: () => stopProcess(tracked, 'SIGTERM', 15_000),
  };
}
