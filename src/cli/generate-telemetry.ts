// `sibyl generate-telemetry --out F`: a synthetic but realistic labelled dataset (sim/README.md):
// client populations with different retry policies, backends with faults. Deterministic per seed.
import { generateTelemetry, writeNdjson } from '../../sim/telemetry-generator.ts';

export async function generateTelemetryCommand(options: { out: string; seed: string; clients: string; minutes: string }): Promise<void> {
  const numbers = { seed: Number(options.seed), clients: Number(options.clients), minutes: Number(options.minutes) };
  for (const [flag, value] of Object.entries(numbers)) {
    if (!Number.isInteger(value) || value < (flag === 'seed' ? 0 : 1)) {
      process.stderr.write(`--${flag}: expected a whole number${flag === 'seed' ? '' : ' >= 1'}\n`);
      process.exit(2);
    }
  }
  const events = generateTelemetry({ seed: numbers.seed, clients: numbers.clients, durationMs: numbers.minutes * 60_000 });
  await writeNdjson(events, options.out);
  const positives = events.reduce((n, e) => n + e.retried, 0);
  process.stdout.write(`wrote ${events.length} labelled events to ${options.out} (retried rate ${((100 * positives) / Math.max(1, events.length)).toFixed(1)} %)\n`);
}
