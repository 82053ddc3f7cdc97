// Identical successful GETs from one client (wrk: one URL, one IP, no User-Agent, 64 connections),
// run several times on one Sibyl process: none of them is a client retry. Checks what an operator
// would read on /metrics after such a load: client retry share and amplification 0 (within 0.1 %),
// the metastability detector quiet, and every prediction below 0.05. `npm run bench:identical-gets`.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { killAllSync, stopAll } from './processes.ts';
import { sibylConfig, startBackend, startSibylWithConfig } from './targets.ts';
import { runWrk, WRK_BIN } from './wrk.ts';

const TOLERANCE = 0.001;
const MAX_PREDICTION = 0.05;

function sample(text: string, name: string, labels = ''): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name}${labels === '' ? ' ' : `{${labels}} `}`));
  return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(' ') + 1));
}

async function metrics(adminUrl: string): Promise<string> {
  return (await fetch(`${adminUrl}/metrics`)).text();
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { rounds: { type: 'string', default: '3' }, duration: { type: 'string', default: '10' }, connections: { type: 'string', default: '64' } } });
  const rounds = Number(values.rounds);
  // checked before anything starts, so that nothing is left running when wrk is missing
  if (!existsSync(WRK_BIN)) throw new Error(`wrk not found at ${WRK_BIN} (apt-get install wrk, or set WRK=/path/to/wrk)`);
  const tmpDir = mkdtempSync(join(tmpdir(), 'sibyl-identical-gets-'));
  const backend = await startBackend(64);
  const sibyl = await startSibylWithConfig('sibyl', sibylConfig(backend.port), { tmpDir });
  const adminUrl = sibyl.adminUrl as string;
  const rows: string[] = ['| run | requests | non-2xx | client retries | repeats | retry share | amplification | storm state | predictions >= 0.05 |', '|---|---|---|---|---|---|---|---|---|'];
  let isPass = true;
  try {
    for (let run = 1; run <= rounds; run++) {
      const before = await metrics(adminUrl);
      const wrk = await runWrk({ url: `${sibyl.url}items/42?view=full`, connections: Number(values.connections), durationSeconds: Number(values.duration) });
      await new Promise((r) => setTimeout(r, 1500)); // one [metrics] interval for the gauges
      const after = await metrics(adminUrl);
      const delta = (name: string, labels = ''): number => sample(after, name, labels) - sample(before, name, labels);
      const requests = ['1', '2', '3', '4+'].reduce((n, a) => n + delta('sibyl_telemetry_attempts_total', `attempt="${a}"`), 0);
      const retries = requests - delta('sibyl_telemetry_attempts_total', 'attempt="1"');
      const repeats = delta('sibyl_telemetry_repeats_total');
      const predictions = delta('sibyl_model_predicted_retry_probability_count');
      const low = delta('sibyl_model_predicted_retry_probability_bucket', 'le="0.05"');
      const share = sample(after, 'sibyl_retry_client_retry_ratio');
      const amplification = sample(after, 'sibyl_retry_amplification');
      const state = ['healthy', 'degraded', 'metastable'].find((s) => sample(after, 'sibyl_protect_storm_state', `state="${s}"`) === 1) ?? 'unknown';
      const ok = retries <= TOLERANCE * requests && share <= TOLERANCE && Math.abs(amplification - 1) <= TOLERANCE && state === 'healthy' && low === predictions && wrk.non2xx3xx === 0;
      isPass &&= ok;
      rows.push(`| ${run} | ${requests} | ${wrk.non2xx3xx} | ${retries} | ${repeats} | ${share.toFixed(4)} | ${amplification.toFixed(4)} | ${state} | ${predictions - low} of ${predictions} |`);
    }
  } finally {
    await sibyl.stop();
    await backend.stop();
    rmSync(tmpDir, { recursive: true, force: true });
  }
  process.stdout.write(`${rows.join('\n')}\n\n${isPass ? 'PASS' : 'FAIL'}: client retries and retry share within ${TOLERANCE * 100} %, amplification 1, storm state healthy, every prediction below ${MAX_PREDICTION}, no non-2xx (wrk -c${values.connections} -d${values.duration}s, ${rounds} runs on one Sibyl)\n`);
}

process.once('SIGINT', () => {
  killAllSync();
  process.exit(130);
});
await main().catch(async (error: unknown) => {
  process.stderr.write(`${String(error)}\n`);
  await stopAll();
  process.exitCode = 1;
});
