// Rate limits: what a limit costs in throughput (none vs local vs Redis-backed, the limit far from
// reached) and how accurately two instances hold one shared limit, by [shared] sync_interval.
// Usage: node bench/rate-limits.ts [--duration 5]   (needs redis-server and wrk; about a minute)
// Prints a markdown report; on a 2-core machine the load generator shares the cores with Sibyl.
import { parseArgs } from 'node:util';
import { backendsToml, startTestBackend, type TestBackend } from '../test/helpers/backends.ts';
import { httpToml } from '../test/helpers/http-fixture.ts';
import { startRedis } from '../test/helpers/redis-server.ts';
import { startSibyl, type SibylProcess } from '../test/helpers/sibyl-process.ts';
import { startLoad } from '../test/helpers/steady-load.ts';
import { runWrk } from './wrk.ts';

const { values } = parseArgs({ options: { duration: { type: 'string', default: '5' } } });
const seconds = Number(values.duration);

const BASE = '[health]\nenabled = false\n[log]\naccess_log = false\n[retry]\nenabled = false\n[load_shedding]\nenabled = false\n';
const limit = (rate: number, isShared: boolean, burst = Math.max(1, Math.round(rate / 10))) => `[[rate_limits]]\nname = "bench"\nkey = "route"\nrate = ${rate}\nburst = ${burst}\nshared = ${isShared}\n`;

async function withSibyls<T>(count: number, text: string, fn: (sibyls: SibylProcess[]) => Promise<T>): Promise<T> {
  const sibyls: SibylProcess[] = [];
  try {
    for (let i = 0; i < count; i++) sibyls.push(await startSibyl(text));
    return await fn(sibyls);
  } finally {
    await Promise.all(sibyls.map((s) => s.stop()));
  }
}

async function throughput(backend: TestBackend, redisUrl: string): Promise<string[]> {
  const rows = ['| limit | requests/s | p50 ms | p99 ms |', '| --- | --- | --- | --- |'];
  const scenarios: [string, string][] = [
    ['none', ''],
    ['local (1e6/s, never reached)', limit(1_000_000, false)],
    [`Redis-backed (1e6/s, never reached)`, `${limit(1_000_000, true)}[shared]\nredis_url = "${redisUrl}"\nshare_model = false\n`],
  ];
  for (const [name, limits] of scenarios) {
    const result = await withSibyls(1, httpToml({ rest: BASE + limits, backends: backendsToml([backend]) }), ([s]) => runWrk({ url: `${s!.proxyUrl}/`, connections: 64, durationSeconds: seconds }));
    rows.push(`| ${name} | ${Math.round(result.rps)} | ${result.p50Ms.toFixed(2)} | ${result.p99Ms.toFixed(2)} |`);
  }
  return rows;
}

async function accuracy(backend: TestBackend, redisUrl: string): Promise<string[]> {
  const rate = 200;
  const rows = [`Two instances, one shared limit of ${rate} req/s (burst ${rate / 10}), each offered far more:`, '', '| sync_interval | offered/s | allowed/s | vs the limit |', '| --- | --- | --- | --- |'];
  // the control: one instance, a local limit, the same total load. What it misses is the load
  // generator's (and backend's) stalls, which a token bucket with a small burst does not make up for.
  const local = httpToml({ rest: BASE + limit(rate, false), backends: backendsToml([backend]) });
  const control = await withSibyls(1, local, async ([s]) => {
    const started = performance.now();
    const r = await startLoad(s!.proxyUrl, { concurrency: 16, maxRequests: 10_000_000, maxDurationMs: seconds * 1000, path: '/' }).done;
    const elapsed = (performance.now() - started) / 1000;
    return { offered: r.total / elapsed, allowed: (r.statuses.get(200) ?? 0) / elapsed };
  });
  rows.push(`| one instance, local limit (control) | ${Math.round(control.offered)} | ${control.allowed.toFixed(1)} | ${(((control.allowed - rate) / rate) * 100).toFixed(1)} % |`);
  for (const interval of ['20ms', '50ms', '200ms', '1s']) {
    const text = httpToml({ rest: `${BASE}${limit(rate, true)}[shared]\nredis_url = "${redisUrl}"\nshare_model = false\nsync_interval = "${interval}"\nkey_prefix = "bench-${interval}:"\n`, backends: backendsToml([backend]) });
    const { offered, allowed } = await withSibyls(2, text, async (sibyls) => {
      const started = performance.now();
      const results = await Promise.all(sibyls.map((s) => startLoad(s.proxyUrl, { concurrency: 8, maxRequests: 10_000_000, maxDurationMs: seconds * 1000, path: '/' }).done));
      const elapsed = (performance.now() - started) / 1000;
      return { offered: results.reduce((n, r) => n + r.total, 0) / elapsed, allowed: results.reduce((n, r) => n + (r.statuses.get(200) ?? 0), 0) / elapsed };
    });
    rows.push(`| ${interval} | ${Math.round(offered)} | ${allowed.toFixed(1)} | ${(((allowed - rate) / rate) * 100).toFixed(1)} % |`);
  }
  return rows;
}

const backend = await startTestBackend('bench');
const redis = await startRedis();
try {
  const report = ['## Rate limits', '', `${seconds} s per run, wrk -c64 for throughput, loopback, load generator on the same cores.`, '', ...(await throughput(backend, redis.url)), '', ...(await accuracy(backend, redis.url)), ''];
  process.stdout.write(`${report.join('\n')}\n`);
} finally {
  await redis.stop();
  await backend.close();
}
