// The proxies the live experiment compares, each in front of the same capacity-limited backends:
// Sibyl in its default configuration (told nothing about backends or clients), Sibyl as a plain
// round robin without defences, nginx as commonly configured, and HAProxy tuned by an operator
// who knows the backends' true concurrency and the clients' timeout (the simulator's baselines).
import { spawnSync } from 'node:child_process';
import { accessSync, closeSync, constants, mkdtempSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, spawnTracked, stopProcess, waitForPort, type Tracked } from '../processes.ts';
import { NGINX_BIN, nginxPrelude, startNginxWithConfig, startSibylWithConfig, type Target } from '../targets.ts';
import type { LiveFleet } from './live-scenarios.ts';

export const LiveProxyNames = ['sibyl', 'sibyl-round-robin', 'nginx', 'haproxy-tuned'] as const;
export type LiveProxyName = (typeof LiveProxyNames)[number];

export const HAPROXY_BIN = process.env.HAPROXY ?? '/usr/sbin/haproxy';

export const LIVE_PROXY_SUMMARIES: Record<LiveProxyName, string> = {
  sibyl: 'Sibyl, default configuration: only the backend addresses',
  'sibyl-round-robin': 'Sibyl as a plain round robin: no load shedding, no retries, no outlier ejection',
  nginx: 'least_conn; max_fails=1 fail_timeout=10s; proxy_next_upstream error timeout http_502 http_503 http_504, tries 2',
  'haproxy-tuned': 'leastconn; maxconn = true backend concurrency; timeout queue 500 ms (< client timeout 1 s); abortonclose; observe layer7',
};

function sibylToml(ports: readonly number[], extra: string): string {
  const backends = ports.map((p, i) => `[[backends]]\nname = "b${i}"\naddress = "127.0.0.1:${p}"\n`).join('\n');
  return `[proxy]\nlisten_address = "127.0.0.1:0"\n\n[admin]\nlisten_address = "127.0.0.1:0"\n\n[log]\naccess_log = false\n\n${extra}\n${backends}`;
}

const NO_DEFENCES = ['[strategy]', 'algorithm = "round_robin"', '[load_shedding]', 'enabled = false', '[retry]', 'enabled = false', '[outlier_detection]', 'enabled = false', ''].join('\n');

function nginxConf(ports: readonly number[]) {
  return (prefix: string, listenPort: number): string => `${nginxPrelude(prefix, 8192)}  upstream fleet {
    least_conn;
${ports.map((p) => `    server 127.0.0.1:${p} max_fails=1 fail_timeout=10s;`).join('\n')}
    keepalive 256;
  }
  server {
    listen 127.0.0.1:${listenPort} backlog=4096;
    location / {
      proxy_pass http://fleet;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_next_upstream error timeout http_502 http_503 http_504;
      proxy_next_upstream_tries 2;
    }
  }
}
`;
}

function haproxyConf(ports: readonly number[], listenPort: number, fleet: LiveFleet): string {
  // maxconn needs 2 file descriptors per connection: 8000 fits a default 20000 fd limit
  return `global
  maxconn 8000
defaults
  mode http
  timeout connect 1s
  timeout client 30s
  timeout server 30s
  timeout queue 500ms
  option abortonclose
  option redispatch
  retries 3
frontend fe
  bind 127.0.0.1:${listenPort}
  default_backend fleet
backend fleet
  balance leastconn
  http-reuse safe
${ports.map((p, i) => `  server b${i} 127.0.0.1:${p} maxconn ${fleet.workers} check inter 2s observe layer7 error-limit 10 on-error mark-down`).join('\n')}
`;
}

async function startHaproxy(ports: readonly number[], fleet: LiveFleet, tmpDir: string): Promise<Target<'haproxy-tuned'>> {
  const dir = mkdtempSync(join(tmpDir, 'haproxy-'));
  const port = await freePort();
  const cfg = join(dir, 'haproxy.cfg');
  writeFileSync(cfg, haproxyConf(ports, port, fleet));
  const check = spawnSync(HAPROXY_BIN, ['-c', '-q', '-f', cfg], { encoding: 'utf8' });
  if (check.status !== 0) throw new Error(`haproxy -c rejected the experiment's config: ${check.stderr}${check.stdout}`);
  const err = openSync(join(dir, 'stderr.log'), 'w');
  let proc: Tracked;
  try {
    proc = spawnTracked('haproxy', HAPROXY_BIN, ['-db', '-f', cfg], { stdio: ['ignore', 'ignore', err] });
  } finally {
    closeSync(err);
  }
  try {
    await waitForPort(port, proc);
  } catch (error) {
    throw new Error(`${String(error)}\nhaproxy stderr: ${readFileSync(join(dir, 'stderr.log'), 'utf8')}`, { cause: error });
  }
  return { name: 'haproxy-tuned', url: `http://127.0.0.1:${port}/`, pids: () => [proc.pid], stop: () => stopProcess(proc) };
}

export function isInstalled(bin: string): boolean {
  try {
    accessSync(bin, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export function binaryFor(name: LiveProxyName): string | undefined {
  if (name === 'nginx') return NGINX_BIN;
  if (name === 'haproxy-tuned') return HAPROXY_BIN;
  return undefined;
}

export function startLiveProxy(name: LiveProxyName, ports: readonly number[], fleet: LiveFleet, tmpDir: string): Promise<Target<LiveProxyName>> {
  switch (name) {
    case 'sibyl':
      return startSibylWithConfig(name, sibylToml(ports, ''), { tmpDir });
    case 'sibyl-round-robin':
      return startSibylWithConfig(name, sibylToml(ports, NO_DEFENCES), { tmpDir });
    case 'nginx':
      return startNginxWithConfig(name, nginxConf(ports), tmpDir);
    case 'haproxy-tuned':
      return startHaproxy(ports, fleet, tmpDir);
  }
}
