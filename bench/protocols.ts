// `npm run bench:protocols`: HTTPS (HTTP/1.1 over TLS, wrk) and HTTP/2 over TLS (bench/h2-load.ts)
// through Sibyl and through nginx with the same throwaway certificate, to one backend on loopback.
// Apart from `npm run bench` (which it does not touch): prints a table, and with --write stores
// bench/results/protocols-<timestamp>.json and docs/benchmarks-protocols.md.
// Usage: npm run bench:protocols -- [--duration 10] [--rounds 3] [--connections 64] [--targets sibyl,nginx] [--write]
import { execFileSync } from 'node:child_process';
import { chmodSync, closeSync, mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { clockTicksPerSecond, cpuTicks, childPids, freePort, killAllSync, spawnTracked, stopAll, stopProcess, waitForJsonLine, waitForJsonLineInFile, waitForPort, type Tracked } from './processes.ts';
import { hasNginx, NGINX_BIN, nginxVersion, sibylConfig, startBackend } from './targets.ts';
import { runWrk } from './wrk.ts';

const ROOT = new URL('..', import.meta.url).pathname;
const SIBYL_BIN = join(ROOT, 'bin', 'sibyl.js');
const H2_LOAD = join(ROOT, 'bench', 'h2-load.ts');
const TARGETS = ['sibyl', 'nginx'] as const;
type TargetName = (typeof TARGETS)[number];
const PROTOCOLS = ['https1', 'h2'] as const;
type Protocol = (typeof PROTOCOLS)[number];

interface Row {
  readonly target: TargetName;
  readonly protocol: Protocol;
  readonly round: number;
  readonly rps: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** Transport errors (connect, read, reset streams). */
  readonly errors: number;
  /** Responses not 2xx/3xx: Sibyl's load shedding (on by default) answers 503 when the backend slows. */
  readonly non2xx: number;
  /** CPU seconds of the target per 1000 requests. */
  readonly cpuMsPerKiloRequest: number;
}

interface RunningTarget {
  readonly port: number;
  pids(): number[];
  stop(): Promise<void>;
}

const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: '10' },
    rounds: { type: 'string', default: '3' },
    connections: { type: 'string', default: '64' },
    targets: { type: 'string', default: TARGETS.join(',') },
    write: { type: 'boolean', default: false },
  },
});
const durationSeconds = Number(values.duration);
const rounds = Number(values.rounds);
const connections = Number(values.connections);
const targets = TARGETS.filter((t) => values.targets.split(',').includes(t) && (t !== 'nginx' || hasNginx()));

function makeCertificate(dir: string): { certFile: string; keyFile: string } {
  const certFile = join(dir, 'cert.pem');
  const keyFile = join(dir, 'key.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '2', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1'], { stdio: 'ignore' });
  // nginx workers may run as nobody
  chmodSync(keyFile, 0o644);
  return { certFile, keyFile };
}

async function startSibylTls(dir: string, backendPort: number, cert: { certFile: string; keyFile: string }): Promise<RunningTarget> {
  const configPath = join(dir, 'sibyl.toml');
  writeFileSync(configPath, `${sibylConfig(backendPort)}\n[tls]\nenabled = true\ncert_file = "${cert.certFile}"\nkey_file = "${cert.keyFile}"\n`);
  const logPath = join(dir, 'sibyl.log');
  const out = openSync(logPath, 'w');
  let proc: Tracked;
  try {
    proc = spawnTracked('sibyl (tls)', process.execPath, [SIBYL_BIN, 'serve', '--config', configPath], { stdio: ['ignore', out, 'inherit'] });
  } finally {
    closeSync(out);
  }
  const serving = await waitForJsonLineInFile(proc, logPath, (line) => line.msg === 'sibyl is serving');
  return { port: (serving.proxy as { port: number }).port, pids: () => [proc.pid], stop: () => stopProcess(proc, 'SIGTERM', 40_000) };
}

async function startNginxTls(dir: string, backendPort: number, cert: { certFile: string; keyFile: string }): Promise<RunningTarget> {
  const prefix = mkdtempSync(join(dir, 'nginx-'));
  chmodSync(prefix, 0o755);
  mkdirSync(join(prefix, 'logs'));
  const port = await freePort();
  const conf = join(prefix, 'nginx.conf');
  // the same shape as bench/targets.ts' nginx, with TLS (same certificate as Sibyl) and h2 by ALPN
  writeFileSync(
    conf,
    `worker_processes 1;\ndaemon off;\nerror_log ${prefix}/error.log warn;\npid ${prefix}/nginx.pid;\nevents { worker_connections 4096; }\nhttp {\n  access_log off;\n` +
      ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((p) => `  ${p === 'client_body' ? 'client_body' : p}_temp_path ${prefix}/${p};\n`).join('') +
      `  upstream backend { server 127.0.0.1:${backendPort}; keepalive 64; }\n  server {\n    listen 127.0.0.1:${port} ssl http2;\n` +
      `    ssl_certificate ${cert.certFile};\n    ssl_certificate_key ${cert.keyFile};\n    ssl_protocols TLSv1.2 TLSv1.3;\n` +
      `    location / { proxy_pass http://backend; proxy_http_version 1.1; proxy_set_header Connection ""; }\n  }\n}\n`,
  );
  const proc = spawnTracked('nginx (tls)', NGINX_BIN, ['-p', prefix, '-c', conf, '-e', join(prefix, 'error.log')], { stdio: ['ignore', 'ignore', 'inherit'] });
  await waitForPort(port, proc);
  return { port, pids: () => [proc.pid, ...childPids(proc.pid)], stop: () => stopProcess(proc, 'SIGTERM') };
}

async function runH2Load(port: number, caFile: string): Promise<{ rps: number; p50Ms: number; p99Ms: number; errors: number; non2xx: number }> {
  const streams = 8;
  const args = [H2_LOAD, '--url', `https://127.0.0.1:${port}/`, '--ca', caFile, '--sessions', String(Math.max(1, Math.round(connections / streams))), '--streams', String(streams), '--duration', String(durationSeconds)];
  const proc = spawnTracked('h2-load', process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  const result = await waitForJsonLine(proc, (line) => typeof line.rps === 'number', (durationSeconds + 30) * 1000);
  await proc.exited;
  if (Number(result.errors) > 0) process.stdout.write(`  h2-load errors: ${JSON.stringify(result.errorKinds)}\n`);
  if (Number(result.resent) > 0) process.stdout.write(`  h2-load: ${String(result.resent)} streams refused by GOAWAY/REFUSED_STREAM were sent again on a new connection\n`);
  return { rps: Number(result.rps), p50Ms: Number(result.p50Ms), p99Ms: Number(result.p99Ms), errors: Number(result.errors), non2xx: Number(result.non2xx) };
}

async function measure(target: TargetName, protocol: Protocol, round: number, running: RunningTarget, caFile: string, ticksPerSecond: number): Promise<Row> {
  const cpuBefore = running.pids().reduce((sum, pid) => sum + cpuTicks(pid), 0);
  const result =
    protocol === 'https1'
      ? await runWrk({ url: `https://127.0.0.1:${running.port}/`, connections, durationSeconds }).then((w) => ({ rps: w.rps, p50Ms: w.p50Ms, p99Ms: w.p99Ms, errors: w.socketErrors, non2xx: w.non2xx3xx }))
      : await runH2Load(running.port, caFile);
  const cpuSeconds = (running.pids().reduce((sum, pid) => sum + cpuTicks(pid), 0) - cpuBefore) / ticksPerSecond;
  const requests = result.rps * durationSeconds;
  return { target, protocol, round, ...result, cpuMsPerKiloRequest: requests > 0 ? (cpuSeconds * 1000 * 1000) / requests : Number.NaN };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

function table(rows: readonly Row[]): string {
  const lines = ['| protocol | target | req/s (median) | p50 ms | p99 ms | CPU ms / 1k req | errors | non-2xx |', '|---|---|---:|---:|---:|---:|---:|---:|'];
  for (const protocol of PROTOCOLS) {
    for (const target of targets) {
      const mine = rows.filter((r) => r.protocol === protocol && r.target === target);
      if (mine.length === 0) continue;
      const f = (pick: (r: Row) => number, digits: number): string => median(mine.map(pick)).toFixed(digits);
      lines.push(`| ${protocol === 'h2' ? 'HTTP/2 over TLS' : 'HTTPS (HTTP/1.1)'} | ${target} | ${f((r) => r.rps, 0)} | ${f((r) => r.p50Ms, 2)} | ${f((r) => r.p99Ms, 2)} | ${f((r) => r.cpuMsPerKiloRequest, 1)} | ${mine.reduce((s, r) => s + r.errors, 0)} | ${mine.reduce((s, r) => s + r.non2xx, 0)} |`);
    }
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'sibyl-bench-tls-'));
  const ticksPerSecond = clockTicksPerSecond();
  const rows: Row[] = [];
  try {
    const cert = makeCertificate(dir);
    const backend = await startBackend(100);
    try {
      for (let round = 1; round <= rounds; round++) {
        for (const target of targets) {
          for (const protocol of PROTOCOLS) {
            // a fresh process per measurement: what one load taught Sibyl (latency, client patience
            // learned from the clients the previous load generator cut off) must not shape the next
            const running = target === 'sibyl' ? await startSibylTls(mkdtempSync(join(dir, 'sibyl-')), backend.port, cert) : await startNginxTls(dir, backend.port, cert);
            try {
              const row = await measure(target, protocol, round, running, cert.certFile, ticksPerSecond);
              process.stdout.write(`round ${round} ${target} ${protocol}: ${row.rps.toFixed(0)} req/s, p99 ${row.p99Ms.toFixed(2)} ms, errors ${row.errors}, non-2xx ${row.non2xx}\n`);
              rows.push(row);
            } finally {
              await running.stop();
            }
          }
        }
      }
    } finally {
      await backend.stop();
    }
  } finally {
    await stopAll();
    rmSync(dir, { recursive: true, force: true });
  }
  const report = [
    '# Benchmarks: HTTPS and HTTP/2',
    '',
    '<!-- Generated by `npm run bench:protocols -- --write` (bench/protocols.ts). Do not edit: rerun it. -->',
    '',
    `Sibyl (\`[tls]\` on, every other feature at its default) and nginx ${nginxVersion() ?? '(not installed)'} (1 worker, \`listen ssl http2\`),`,
    'the same throwaway ECDSA P-256 certificate, one backend (`sibyl backend`, 100 B bodies) on loopback.',
    `HTTPS: wrk, ${connections} keep-alive connections. HTTP/2: bench/h2-load.ts, ${Math.max(1, Math.round(connections / 8))} connections x 8 streams.`,
    `${rounds} round(s) of ${durationSeconds} s, each target started afresh for each measurement, medians; ${cpus().length} cores (${cpus()[0]?.model.trim() ?? 'unknown CPU'}), Node ${process.version}.`,
    rounds < 3 ? '\n> Fewer than 3 rounds: a smoke run, the figures are noisy.\n' : '',
    table(rows),
    '',
    'The load generators run on the same machine and share its cores with the target. non-2xx are Sibyl\'s',
    'load-shedding 503s (`[load_shedding]` is on by default) when the backend\'s latency rises under the load.',
    '',
  ].join('\n');
  process.stdout.write(`\n${table(rows)}\n`);
  if (values.write) {
    mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
    writeFileSync(join(ROOT, 'bench', 'results', `protocols-${new Date().toISOString().replace(/[:.]/g, '-')}.json`), `${JSON.stringify(rows, null, 2)}\n`);
    writeFileSync(join(ROOT, 'docs', 'benchmarks-protocols.md'), report);
    process.stdout.write('wrote docs/benchmarks-protocols.md\n');
  }
}

process.once('SIGINT', () => {
  killAllSync();
  process.exit(130);
});
await main();
