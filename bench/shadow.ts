// Shadow-traffic overhead: the primary's latency and errors with no shadow, with every request
// copied to a slow shadow pool, and to a failing one. Run: `npm run bench:shadow [-- --seconds 5
// --rounds 3 --percent 10 --concurrency 16 | --rate 300]`. Without --rate the load is closed-loop at
// full speed (the proxy saturates its core, so any extra work shows in p99); --rate R sends R requests
// per second open-loop, the way a service is run below its capacity. The three setups take turns for --rounds rounds, so that drift in the machine's
// load hits each alike. Sibyl runs as its own process (the real binary); backends and the load run
// in this process.
import { mkdtemp, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { Agent, request } from 'undici';
import { spawnTracked, stopProcess } from './processes.ts';

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '5' }, rounds: { type: 'string', default: '3' }, concurrency: { type: 'string', default: '16' }, percent: { type: 'string', default: '10' }, rate: { type: 'string' } } });
const rate = values.rate === undefined ? undefined : Number(values.rate);
if (rate !== undefined && !(rate > 0)) throw new Error(`--rate: expected requests per second > 0, got ${values.rate}`);
const percent = Number(values.percent);
const seconds = Number(values.seconds);
const rounds = Number(values.rounds);
const concurrency = Number(values.concurrency);

function listen(handler: Parameters<typeof createServer>[1]): Promise<{ server: Server; address: string }> {
  const server = createServer(handler);
  return new Promise((resolve) => server.listen({ host: '127.0.0.1', port: 0 }, () => resolve({ server, address: `127.0.0.1:${(server.address() as { port: number }).port}` })));
}

const body = JSON.stringify({ ok: true, items: Array.from({ length: 20 }, (_, i) => i) });
const primary = await listen((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(body));
const slow = await listen((_req, res) => void setTimeout(() => res.writeHead(200, { 'content-type': 'application/json' }).end(body), 300));
let n = 0;
const failing = await listen((_req, res) => (n++ % 2 === 0 ? res.writeHead(503).end() : res.socket?.destroy()));

async function runSibyl(shadowAddress: string | undefined): Promise<{ url: string; stop: () => Promise<void> }> {
  const shadow = shadowAddress === undefined ? '' : `[[pools]]\nname = "shadow"\n[[pools.backends]]\nname = "shadow-1"\naddress = "${shadowAddress}"\n[[shadows]]\nname = "bench"\npool = "default"\nshadow_pool = "shadow"\npercent = ${percent}\nmax_concurrency = 64\ntimeout = "2s"\n`;
  const config = `[proxy]\nlisten_address = "127.0.0.1:0"\n[admin]\nlisten_address = "127.0.0.1:0"\n[log]\naccess_log = false\nlevel = "warn"\n[health]\nenabled = false\n[[backends]]\nname = "primary"\naddress = "${primary.address}"\n${shadow}`;
  const dir = await mkdtemp(join(tmpdir(), 'sibyl-bench-shadow-'));
  await writeFile(join(dir, 'sibyl.toml'), config);
  const tracked = spawnTracked('sibyl', process.execPath, [new URL('../bin/sibyl.js', import.meta.url).pathname, 'serve', '--config', join(dir, 'sibyl.toml')], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, SIBYL_LOG_LEVEL: 'info' } });
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('sibyl did not start')), 15_000);
    createInterface({ input: tracked.proc.stdout! }).on('line', (line) => {
      if (!line.includes('sibyl is serving')) return;
      clearTimeout(timer);
      resolve((JSON.parse(line) as { proxy: { port: number } }).proxy.port);
    });
  });
  return { url: `http://127.0.0.1:${port}`, stop: () => stopProcess(tracked) };
}

interface Sample {
  latencies: number[];
  errors: number;
}

async function timed(url: string, dispatcher: Agent, into: Sample): Promise<void> {
  const started = performance.now();
  try {
    const res = await request(`${url}/item`, { dispatcher });
    await res.body.text();
    if (res.statusCode !== 200) into.errors++;
  } catch {
    into.errors++;
  }
  into.latencies.push(performance.now() - started);
}

/** Open loop: one request every 1000 / rate ms, whether or not earlier ones have answered. */
async function loadAtRate(url: string, dispatcher: Agent, perSecond: number, into: Sample): Promise<void> {
  const pending: Promise<void>[] = [];
  const start = performance.now();
  for (let i = 0; i < perSecond * seconds; i++) {
    const wait = start + (i * 1000) / perSecond - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    pending.push(timed(url, dispatcher, into));
  }
  await Promise.all(pending);
}

async function load(url: string, into: Sample): Promise<void> {
  const dispatcher = new Agent({ connections: concurrency });
  const deadline = Date.now() + seconds * 1000;
  // a short warm-up (connections, JIT) that is not measured
  for (let i = 0; i < 200; i++) await (await request(`${url}/warm`, { dispatcher })).body.text();
  if (rate !== undefined) {
    await loadAtRate(url, dispatcher, rate, into);
    await dispatcher.close();
    return;
  }
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (Date.now() < deadline) await timed(url, dispatcher, into);
    }),
  );
  await dispatcher.close();
}

const setups = [['no shadow', undefined], [`${percent} % copied to a slow pool (300 ms)`, slow.address], [`${percent} % copied to a failing pool (503 / reset)`, failing.address]] as const;
const samples: Sample[] = setups.map(() => ({ latencies: [], errors: 0 }));
for (let round = 0; round < rounds; round++) {
  for (const [i, [, address]] of setups.entries()) {
    const sibyl = await runSibyl(address);
    try {
      await load(sibyl.url, samples[i] as Sample);
    } finally {
      await sibyl.stop();
    }
  }
}
for (const s of [primary, slow, failing]) s.server.close();
const at = (sorted: number[], q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
const rows = samples.map((sample, i) => {
  const sorted = sample.latencies.sort((a, b) => a - b);
  const baseline = at((samples[0] as Sample).latencies, 0.99);
  const ratio = i === 0 ? '-' : `${((100 * at(sorted, 0.99)) / baseline - 100).toFixed(1)} %`;
  return `| ${setups[i]?.[0]} | ${sorted.length} | ${sample.errors} | ${at(sorted, 0.5).toFixed(2)} | ${at(sorted, 0.99).toFixed(2)} | ${ratio} |`;
});
process.stdout.write(
  [`Primary with and without shadow traffic: ${rate === undefined ? `${concurrency} concurrent clients (closed loop)` : `${rate} requests/s (open loop)`}, ${rounds} rounds of ${seconds} s per setup, ${new Date().toISOString().slice(0, 10)}.`, '', '| run | requests | primary errors | p50 ms | p99 ms | p99 vs no shadow |', '|---|---|---|---|---|---|', ...rows, ''].join('\n'),
);
