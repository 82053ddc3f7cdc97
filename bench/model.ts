// Retry model costs, measured in-process: ns per predict (feature extraction + dot product), the
// learner's throughput in labelled events per second on one core, and the labeller's cost per
// request. Events come from the synthetic generator so features are realistic.
import { generateTelemetry } from '../sim/telemetry-generator.ts';
import { createRetryModel } from '../src/model/retry-model.ts';
import { RetryLabeller, type PendingEvent } from '../src/telemetry/retry-labeller.ts';

export interface ModelBench {
  readonly predictNs: number;
  readonly learnEventsPerSecond: number;
  readonly labelNsPerRequest: number;
  readonly events: number;
}

function bestOf(rounds: number, run: () => number): number {
  let best = Number.POSITIVE_INFINITY;
  for (let i = 0; i < rounds; i++) best = Math.min(best, run());
  return best;
}

export function benchModel(): ModelBench {
  const events = generateTelemetry({ seed: 3, clients: 60, durationMs: 15 * 60_000 });
  const model = createRetryModel();
  for (const e of events) model.learn(e, e.retried); // warm: weights and JIT
  let sink = 0;
  const predictNs = bestOf(5, () => {
    const start = process.hrtime.bigint();
    for (let k = 0; k < 5; k++) for (const e of events) sink += model.predict(e);
    return Number(process.hrtime.bigint() - start) / (5 * events.length);
  });
  const learnNs = bestOf(5, () => {
    const m = createRetryModel();
    const start = process.hrtime.bigint();
    for (const e of events) m.learn(e, e.retried);
    return Number(process.hrtime.bigint() - start) / events.length;
  });
  const labelNs = bestOf(5, () => {
    const labeller = new RetryLabeller({ windowMs: 30_000, maxTracked: 100_000 }, { onLabelled: () => sink++, onEvict: () => {}, onRetry: () => {}, onRepeat: () => {} });
    const start = process.hrtime.bigint();
    for (const e of events) {
      const ticket = labeller.arrive(e.clientKey, e.fingerprint, e.startedAtMs);
      labeller.finish(ticket, { ...e } as PendingEvent, e.endedAtMs);
    }
    labeller.sweep(Number.MAX_SAFE_INTEGER);
    return Number(process.hrtime.bigint() - start) / events.length;
  });
  if (sink === -1) process.stdout.write('');
  return { predictNs, learnEventsPerSecond: 1e9 / learnNs, labelNsPerRequest: labelNs, events: events.length };
}
