// The real HAProxy and NGINX, run from the files shipped in deploy/integrations/ on free
// loopback ports, for the integration tests. Each is stopped by its PID.
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO } from './deploy-assets.ts';
import { eventually } from './sibyl-process.ts';

const INTEGRATIONS = join(REPO, 'deploy/integrations');

export interface RunningProxy {
  readonly url: string;
  /** Its log lines, each as key=value pairs plus `request` ("GET /path"). */
  log(): Promise<Record<string, string>[]>;
  stop(): Promise<void>;
}

export interface PoolAddresses {
  readonly primary: string;
  readonly backup: string;
  /** Sibyl's admin listener (host:port). */
  readonly sibyl: string;
}

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });
}

/** key=value pairs of a log line, and its quoted request. */
export function parseLogLine(line: string): Record<string, string> {
  const fields: Record<string, string> = { request: /"([A-Z]+ [^\s"]+)/.exec(line)?.[1] ?? '' };
  for (const m of line.matchAll(/(\w+)=(\S+)/g)) fields[m[1] ?? ''] = m[2] ?? '';
  return fields;
}

async function started(proc: ChildProcess, port: number, output: string[], name: string): Promise<() => Promise<void>> {
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  const stop = async (): Promise<void> => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
    await exited;
  };
  try {
    await eventually(async () => proc.exitCode === null && (await canConnect(port)), 10_000);
  } catch (err) {
    await stop();
    throw new Error(`${name} did not start: ${output.join('')}`, { cause: err });
  }
  return stop;
}

/** HAProxy with deploy/integrations/haproxy/haproxy.cfg and sibyl.lua, addresses by environment. */
export async function startHaproxy(haproxy: string, pools: PoolAddresses): Promise<RunningProxy> {
  const port = await freePort();
  const env = {
    PATH: process.env.PATH ?? '',
    LISTEN_ADDRESS: `127.0.0.1:${port}`,
    SIBYL_PREDICT_ADDRESS: pools.sibyl,
    PRIMARY_1_ADDRESS: pools.primary,
    PRIMARY_2_ADDRESS: pools.primary,
    BACKUP_1_ADDRESS: pools.backup,
    SIBYL_LUA: join(INTEGRATIONS, 'haproxy/sibyl.lua'),
  };
  const proc = spawn(haproxy, ['-db', '-f', join(INTEGRATIONS, 'haproxy/haproxy.cfg')], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const output: string[] = [];
  proc.stdout?.on('data', (d: Buffer) => output.push(d.toString()));
  proc.stderr?.on('data', (d: Buffer) => output.push(d.toString()));
  const stop = await started(proc, port, output, 'haproxy');
  return {
    url: `http://127.0.0.1:${port}`,
    log: async () => output.join('').split('\n').filter((l) => l.includes('sibyl_action=')).map(parseLogLine),
    stop,
  };
}

function replaceShipped(text: string, from: string, to: string): string {
  if (!text.includes(from)) throw new Error(`the shipped NGINX config no longer contains ${JSON.stringify(from)}`);
  return text.replaceAll(from, to);
}

/** NGINX with the three files of deploy/integrations/nginx, only their addresses changed. */
export async function startNginx(nginx: string, pools: PoolAddresses): Promise<RunningProxy> {
  const dir = await mkdtemp(join(tmpdir(), 'sibyl-nginx-'));
  await mkdir(join(dir, 'sibyl'));
  const port = await freePort();
  const shipped = (file: string): Promise<string> => readFile(join(INTEGRATIONS, 'nginx', file), 'utf8');
  await writeFile(join(dir, 'sibyl/sibyl-predict.conf'), replaceShipped(await shipped('sibyl-predict.conf'), 'server 127.0.0.1:9090;', `server ${pools.sibyl};`));
  let site = await shipped('example-site.conf');
  site = replaceShipped(site, '10.0.0.11:8080', pools.primary);
  site = replaceShipped(site, '10.0.0.12:8080', pools.primary);
  site = replaceShipped(site, '10.0.0.21:8080', pools.backup);
  site = replaceShipped(site, 'listen 8000;', `listen 127.0.0.1:${port};`);
  site = replaceShipped(site, '/var/log/nginx/sibyl-advice.log', join(dir, 'access.log'));
  await writeFile(join(dir, 'sibyl/example-site.conf'), site);
  await copyFile(join(INTEGRATIONS, 'nginx/sibyl-locations.conf'), join(dir, 'sibyl/sibyl-locations.conf'));
  // What a system nginx.conf provides, in the temporary directory; one process, no daemon.
  const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `${t}_temp_path ${join(dir, t)};`).join('\n  ');
  await writeFile(
    join(dir, 'nginx.conf'),
    `daemon off;\nmaster_process off;\npid ${join(dir, 'nginx.pid')};\nerror_log ${join(dir, 'error.log')} warn;\nevents { worker_connections 128; }\n` +
      `http {\n  ${temp}\n  access_log off;\n  include sibyl/sibyl-predict.conf;\n  include sibyl/example-site.conf;\n}\n`,
  );
  const proc = spawn(nginx, ['-p', dir, '-c', join(dir, 'nginx.conf')], { stdio: ['ignore', 'pipe', 'pipe'] });
  const output: string[] = [];
  proc.stderr?.on('data', (d: Buffer) => output.push(d.toString()));
  const stop = await started(proc, port, output, 'nginx');
  return {
    url: `http://127.0.0.1:${port}`,
    log: async () => {
      const text = await readFile(join(dir, 'access.log'), 'utf8').catch(() => '');
      return text.split('\n').filter((l) => l !== '').map(parseLogLine);
    },
    stop,
  };
}

/** A "Sibyl" that accepts connections and never answers: the slow case. */
export async function startBlackHole(): Promise<{ address: string; connections: () => number; close(): Promise<void> }> {
  const sockets: Socket[] = [];
  const server: Server = createServer((socket) => {
    sockets.push(socket);
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    address: `127.0.0.1:${port}`,
    connections: () => sockets.length,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
