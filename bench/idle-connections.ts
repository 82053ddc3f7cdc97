// Capacity: Sibyl holding many idle keep-alive client connections (each has sent one request and
// waits), its memory per connection, and the latency of normal requests meanwhile.
// Usage: node bench/idle-connections.ts [--connections 10000] (about 30 s; Linux, for /proc; needs a
// file descriptor limit above the count, `ulimit -n`). Bounded: every socket is closed at the end.
import { readFile } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { parseArgs } from 'node:util';
import { Agent, request } from 'undici';
import { backendsToml, startTestBackend } from '../test/helpers/backends.ts';
import { httpToml, sampleValue, scrapeMetrics } from '../test/helpers/http-fixture.ts';
import { startSibyl } from '../test/helpers/sibyl-process.ts';

const { values } = parseArgs({ options: { connections: { type: 'string', default: '10000' } } });
const count = Number(values.connections);
const BATCH = 250;
const SOURCES = ['127.0.0.1', '127.0.0.2', '127.0.0.3', '127.0.0.4'];

/** One connection that sends a request, reads its whole response, and then stays open, idle. */
function idleConnection(port: number, localAddress: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, localAddress }, () => socket.write('GET /idle HTTP/1.1\r\nHost: bench\r\n\r\n'));
    let seen = '';
    const onData = (d: Buffer): void => {
      seen += d.toString();
      const head = seen.indexOf('\r\n\r\n');
      const length = /content-length: (\d+)/i.exec(seen)?.[1];
      // the proxied response is chunked (or, from other backends, has a length)
      const isComplete = head !== -1 && (length !== undefined ? seen.length >= head + 4 + Number(length) : seen.endsWith('\r\n0\r\n\r\n'));
      if (isComplete) {
        socket.off('data', onData);
        resolve(socket);
      }
    };
    socket.on('data', onData);
    socket.once('error', reject);
  });
}

async function latencies(proxyUrl: string, n: number): Promise<number[]> {
  const dispatcher = new Agent({ connections: 4 });
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const started = performance.now();
    const res = await request(`${proxyUrl}/normal`, { dispatcher });
    await res.body.text();
    if (res.statusCode !== 200) throw new Error(`normal request answered ${res.statusCode}`);
    out.push(performance.now() - started);
  }
  await dispatcher.close();
  return out.sort((a, b) => a - b);
}

const quantile = (xs: number[], q: number) => xs[Math.min(xs.length - 1, Math.floor(q * xs.length))] as number;
const backend = await startTestBackend('bench');
const sibyl = await startSibyl(httpToml({ proxy: `max_connections = ${count + 1000}\nkeep_alive_timeout = "10m"`, rest: '[health]\nenabled = false\n[log]\naccess_log = false', backends: backendsToml([backend]) }));
const sockets: Socket[] = [];
try {
  const port = Number(new URL(sibyl.proxyUrl).port);
  await latencies(sibyl.proxyUrl, 200); // warm-up
  // the process's resident set as Linux counts it (VmRSS, KiB), after a moment to settle
  const rss = async () => {
    await new Promise((r) => setTimeout(r, 1000));
    const status = await readFile(`/proc/${sibyl.proc.pid}/status`, 'utf8');
    return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? Number.NaN) * 1024;
  };
  const rssBefore = await rss();
  const quiet = await latencies(sibyl.proxyUrl, 200);
  for (let i = 0; i < count; i += BATCH) {
    sockets.push(...(await Promise.all(Array.from({ length: Math.min(BATCH, count - i) }, (_, k) => idleConnection(port, SOURCES[(i + k) % SOURCES.length] as string)))));
  }
  const open = sampleValue(await scrapeMetrics(sibyl.adminUrl), 'sibyl_proxy_open_connections');
  const rssAfter = await rss();
  const loaded = await latencies(sibyl.proxyUrl, 200);
  const rows = [
    `## ${count} idle keep-alive connections`,
    '',
    `Sibyl held ${open} open client connections (each had one request answered). Resident memory ${(rssBefore / 2 ** 20).toFixed(0)} MiB before, ${(rssAfter / 2 ** 20).toFixed(0)} MiB with them: ${((rssAfter - rssBefore) / count / 1024).toFixed(1)} KiB per connection.`,
    '',
    '| normal requests (200, sequential) | p50 ms | p99 ms |',
    '| --- | --- | --- |',
    `| without the idle connections | ${quantile(quiet, 0.5).toFixed(2)} | ${quantile(quiet, 0.99).toFixed(2)} |`,
    `| with them | ${quantile(loaded, 0.5).toFixed(2)} | ${quantile(loaded, 0.99).toFixed(2)} |`,
  ];
  process.stdout.write(`${rows.join('\n')}\n`);
} finally {
  for (const s of sockets) s.destroy();
  await sibyl.stop();
  await backend.close();
}
