// `serve --workers 2` against one process: requests/s and latency through Sibyl with wrk, each
// configuration in alternating rounds. Usage: node bench/workers.ts [--duration 5] [--rounds 2]
// (needs wrk; about 30 s). On a 2-core machine wrk, the backend and the workers share the cores,
// so the second worker competes with the load generator for the same CPU; the figures say what
// the machine gives, not what a worker per dedicated core would.
import { parseArgs } from 'node:util';
import { backendsToml, startTestBackend } from '../test/helpers/backends.ts';
import { httpToml } from '../test/helpers/http-fixture.ts';
import { startSibyl } from '../test/helpers/sibyl-process.ts';
import { runWrk, type WrkResult } from './wrk.ts';

const { values } = parseArgs({ options: { duration: { type: 'string', default: '5' }, rounds: { type: 'string', default: '2' } } });
const seconds = Number(values.duration);
const rounds = Number(values.rounds);

const backend = await startTestBackend('bench');
const text = httpToml({ rest: '[health]\nenabled = false\n[log]\naccess_log = false', backends: backendsToml([backend]) });
const results = new Map<number, WrkResult[]>([[1, []], [2, []]]);
try {
  for (let round = 0; round < rounds; round++) {
    for (const workers of [1, 2]) {
      const sibyl = await startSibyl(text, { args: ['--workers', String(workers)] });
      try {
        await runWrk({ url: `${sibyl.proxyUrl}/`, connections: 64, durationSeconds: 1 }); // warm-up
        results.get(workers)!.push(await runWrk({ url: `${sibyl.proxyUrl}/`, connections: 64, durationSeconds: seconds }));
      } finally {
        await sibyl.stop();
      }
    }
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
  const rows = ['| workers | requests/s (median) | p50 ms | p99 ms | runs |', '| --- | --- | --- | --- | --- |'];
  for (const [workers, runs] of results) {
    rows.push(`| ${workers} | ${Math.round(median(runs.map((r) => r.rps)))} | ${median(runs.map((r) => r.p50Ms)).toFixed(2)} | ${median(runs.map((r) => r.p99Ms)).toFixed(2)} | ${runs.map((r) => Math.round(r.rps)).join(', ')} |`);
  }
  process.stdout.write(`## --workers\n\n${seconds} s per run after 1 s of warm-up, wrk -c64, loopback, ${rounds} alternating rounds.\n\n${rows.join('\n')}\n`);
} finally {
  await backend.close();
}
