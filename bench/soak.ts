// Soak: Sibyl's memory and event-loop lag over a long run of mixed traffic with a flood of distinct
// client keys in the middle. Steady clients (a few hundred keys, GET/POST, some 5xx and client
// retries) run throughout; the flood adds one new client key (and URL) per request. Criterion
// (issue #19): one minute after the flood ends, RSS is within 20 % of its steady value (the median
// RSS of the last third of the warm-up); and the event loop is not stalled by periodic work when
// idle (lag p99 reported for an idle phase at the end).
// Usage: node bench/soak.ts [--minutes 10] [--flood 200000]   (loopback only; stops by itself)
// Phases, as shares of the run: warm-up 25 %, flood up to 30 % (or until --flood requests),
// recovery (steady traffic) to 90 %, idle 10 %. Prints a table of samples and PASS/FAIL.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { Agent, request } from 'undici';
import { startTestBackend } from '../test/helpers/backends.ts';
import { httpToml, sampleValue } from '../test/helpers/http-fixture.ts';
import { startSibyl } from '../test/helpers/sibyl-process.ts';

const { values } = parseArgs({ options: { minutes: { type: 'string', default: '10' }, flood: { type: 'string', default: '200000' } } });
const totalMs = Number(values.minutes) * 60_000;
const floodMax = Number(values.flood);
if (!(totalMs > 0) || !(floodMax >= 0)) throw new Error('usage: node bench/soak.ts [--minutes 10] [--flood 200000]');
const SAMPLE_MS = Math.max(1000, Math.min(10_000, totalMs / 120));
const RECOVERY_MS = 60_000;

type Phase = 'warm-up' | 'flood' | 'recovery' | 'idle';

interface Sample {
  readonly atS: number;
  readonly phase: Phase;
  readonly rssMb: number;
  readonly heapUsedMb: number;
  readonly externalMb: number;
  readonly lagP99Ms: number;
  readonly requests: number;
}

// the steady clients' backend answers 503 to /flaky/* one time in five: client retries get labelled
let flakyCount = 0;
const backend = await startTestBackend('soak', (req, res, body) => {
  const isFlaky = req.url?.startsWith('/flaky/') === true && flakyCount++ % 5 === 0;
  res.writeHead(isFlaky ? 503 : 200, { 'content-type': 'text/plain', 'x-served-by': 'soak' });
  res.end(`soak:${req.method}:${req.url}:${body.length}`);
});
// the bench keeps no per-request record of its own: `seen` would grow with every request
backend.seen.push = () => 0;
const rest = [
  '[health]\nenabled = false',
  '[log]\naccess_log = false',
  '[[rate_limits]]\nname = "per-client"\nkey = "client_key"\nrate = 1000\nburst = 1000',
].join('\n');
const sibyl = await startSibyl(httpToml({ rest, backends: `[[backends]]\nname = "soak"\naddress = "${backend.address}"\n` }));
const pid = sibyl.proc.pid as number;
const dispatcher = new Agent({ connections: 32 });
const started = performance.now();
const elapsed = (): number => performance.now() - started;
let phase: Phase = 'warm-up';
let requests = 0;
let floodSent = 0;
let floodEndedAt = Number.NaN;
const samples: Sample[] = [];

function rssMb(): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return kb / 1024;
}

async function sample(): Promise<void> {
  const res = await request(`${sibyl.adminUrl}/metrics`, { dispatcher });
  const text = await res.body.text();
  samples.push({
    atS: elapsed() / 1000,
    phase,
    rssMb: rssMb(),
    heapUsedMb: sampleValue(text, 'sibyl_process_nodejs_heap_size_used_bytes') / 2 ** 20,
    externalMb: sampleValue(text, 'sibyl_process_nodejs_external_memory_bytes') / 2 ** 20,
    lagP99Ms: sampleValue(text, 'sibyl_process_nodejs_eventloop_lag_p99_seconds') * 1000,
    requests,
  });
}

async function send(path: string, headers: Record<string, string>, method: 'GET' | 'POST' = 'GET', body?: string): Promise<void> {
  try {
    const res = await request(`${sibyl.proxyUrl}${path}`, { dispatcher, method, headers, body });
    await res.body.dump();
  } catch {
    // counted as sent; the proxy's own metrics say what failed
  }
  requests++;
}

/** A steady client: one of 300 keys, a handful of URLs, GET and POST, retrying a 503 once. */
async function steadyLoop(seed: number, until: () => boolean): Promise<void> {
  for (let i = seed; !until(); i += 7) {
    const key = `steady-${i % 300}`;
    const headers = { 'x-api-key': key, 'user-agent': 'soak-steady/1.0' };
    if (i % 4 === 0) await send(`/items/${i % 50}`, { ...headers, 'content-type': 'application/json' }, 'POST', JSON.stringify({ n: i % 13 }));
    else if (i % 4 === 1) {
      await send(`/flaky/${i % 20}`, headers);
      await send(`/flaky/${i % 20}`, headers); // the client's retry (or a repeat after a success)
    } else await send(`/items/${i % 50}?page=${i % 3}`, headers);
  }
}

/** The flood: every request a new client key and a new URL (new labeller, profile and bucket keys). */
async function floodLoop(until: () => boolean): Promise<void> {
  while (!until() && floodSent < floodMax) {
    const n = floodSent++;
    await send(`/flood/${n}`, { 'x-api-key': `flood-${n}`, 'user-agent': `soak-flood/${n % 1000}` }, n % 10 === 0 ? 'POST' : 'GET', n % 10 === 0 ? `{"n":${n}}` : undefined);
  }
}

const sampler = setInterval(() => void sample().catch(() => undefined), SAMPLE_MS);
try {
  await sample();
  const warmUpEnd = 0.25 * totalMs;
  const floodEnd = 0.55 * totalMs;
  const recoveryEnd = 0.9 * totalMs;
  await Promise.all(Array.from({ length: 4 }, (_, k) => steadyLoop(k, () => elapsed() >= warmUpEnd)));
  phase = 'flood';
  await Promise.all([...Array.from({ length: 12 }, () => floodLoop(() => elapsed() >= floodEnd)), ...Array.from({ length: 2 }, (_, k) => steadyLoop(k, () => elapsed() >= floodEnd || floodSent >= floodMax))]);
  floodEndedAt = elapsed();
  phase = 'recovery';
  await Promise.all(Array.from({ length: 4 }, (_, k) => steadyLoop(k, () => elapsed() >= Math.max(recoveryEnd, floodEndedAt + RECOVERY_MS + SAMPLE_MS))));
  phase = 'idle';
  const idleEnd = Math.max(totalMs, elapsed() + 3 * SAMPLE_MS);
  while (elapsed() < idleEnd) await new Promise((r) => setTimeout(r, 250));
  await sample();
} finally {
  clearInterval(sampler);
  await sibyl.stop();
  await dispatcher.close();
  await backend.close();
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? Number.NaN : (s[Math.floor(s.length / 2)] as number);
};
const warm = samples.filter((s) => s.phase === 'warm-up');
const steadyRss = median(warm.slice(Math.floor((warm.length * 2) / 3)).map((s) => s.rssMb));
const peakRss = Math.max(...samples.map((s) => s.rssMb));
const afterMinute = samples.find((s) => s.atS * 1000 >= floodEndedAt + RECOVERY_MS);
const idle = samples.filter((s) => s.phase === 'idle');
const idleLagP99 = Math.max(...idle.map((s) => s.lagP99Ms));
const isPass = afterMinute !== undefined && afterMinute.rssMb <= 1.2 * steadyRss;

const lines = ['| t (s) | phase | RSS MB | heap used MB | external MB | loop lag p99 ms | requests |', '| ---: | --- | ---: | ---: | ---: | ---: | ---: |'];
for (const s of samples) lines.push(`| ${s.atS.toFixed(0)} | ${s.phase} | ${s.rssMb.toFixed(0)} | ${s.heapUsedMb.toFixed(0)} | ${s.externalMb.toFixed(0)} | ${s.lagP99Ms.toFixed(1)} | ${s.requests} |`);
lines.push('');
lines.push(`flood: ${floodSent} requests with distinct client keys, ended at ${(floodEndedAt / 1000).toFixed(0)} s; ${requests} requests in all`);
lines.push(`steady RSS ${steadyRss.toFixed(0)} MB, peak ${peakRss.toFixed(0)} MB, one minute after the flood ${afterMinute?.rssMb.toFixed(0) ?? '?'} MB (limit ${(1.2 * steadyRss).toFixed(0)} MB)`);
lines.push(`idle event-loop lag p99: ${idleLagP99.toFixed(1)} ms (worst idle sample)`);
lines.push(isPass ? 'PASS: RSS back within 20 % of steady one minute after the flood' : 'FAIL: RSS not back within 20 % of steady one minute after the flood');
process.stdout.write(`${lines.join('\n')}\n`);
process.exitCode = isPass ? 0 : 1;
