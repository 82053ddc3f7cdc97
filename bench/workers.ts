// `serve --workers 2` against one process: requests/s through Sibyl, each configuration in
// alternating rounds. Usage: node bench/workers.ts [--duration 5] [--rounds 2] (about 30 s).
// The primary hands connections to workers by client IP, so the load comes from four loopback
// source addresses (two per worker) with undici loops (wrk cannot choose its source address).
// On a 2-core machine the load generator, the backend and the workers share the cores, so the
// second worker competes with them for the same CPU: the figures say what this machine gives.
import { parseArgs } from 'node:util';
import { backendsToml, startTestBackend } from '../test/helpers/backends.ts';
import { httpToml } from '../test/helpers/http-fixture.ts';
import { startSibyl } from '../test/helpers/sibyl-process.ts';
import { startLoad } from '../test/helpers/steady-load.ts';

const { values } = parseArgs({ options: { duration: { type: 'string', default: '5' }, rounds: { type: 'string', default: '2' } } });
const seconds = Number(values.duration);
const rounds = Number(values.rounds);
/** 127.0.0.1 and .2 hash to one worker of two, .4 and .5 to the other (cluster-primary.ts). */
const SOURCES = ['127.0.0.1', '127.0.0.4', '127.0.0.2', '127.0.0.5'];

async function requestsPerSecond(proxyUrl: string, durationMs: number): Promise<{ rps: number; errors: number }> {
  const started = performance.now();
  const results = await Promise.all(SOURCES.map((localAddress) => startLoad(proxyUrl, { concurrency: 16, maxRequests: 10_000_000, maxDurationMs: durationMs, path: '/', localAddress }).done));
  const elapsed = (performance.now() - started) / 1000;
  return { rps: results.reduce((n, r) => n + (r.statuses.get(200) ?? 0), 0) / elapsed, errors: results.reduce((n, r) => n + r.errors.size, 0) };
}

const backend = await startTestBackend('bench');
const text = httpToml({ rest: '[health]\nenabled = false\n[log]\naccess_log = false', backends: backendsToml([backend]) });
const results = new Map<number, number[]>([[1, []], [2, []]]);
try {
  for (let round = 0; round < rounds; round++) {
    for (const workers of [1, 2]) {
      const sibyl = await startSibyl(text, { args: ['--workers', String(workers)] });
      try {
        await requestsPerSecond(sibyl.proxyUrl, 1000); // warm-up
        const { rps, errors } = await requestsPerSecond(sibyl.proxyUrl, seconds * 1000);
        if (errors > 0) throw new Error(`${errors} requests failed with --workers ${workers}`);
        results.get(workers)!.push(rps);
      } finally {
        await sibyl.stop();
      }
    }
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
  const rows = ['| workers | requests/s (median) | runs |', '| --- | --- | --- |'];
  for (const [workers, runs] of results) rows.push(`| ${workers} | ${Math.round(median(runs))} | ${runs.map((r) => Math.round(r)).join(', ')} |`);
  process.stdout.write(`## --workers\n\n${seconds} s per run after 1 s of warm-up, 4 x 16 keep-alive connections from four loopback addresses, ${rounds} alternating rounds.\n\n${rows.join('\n')}\n`);
} finally {
  await backend.close();
}
