// `sibyl train --data F --out model.json`: learns the retry model from labelled events in time
// order (one online pass, as the live learner does), leaving the last --test-fraction out so that
// `sibyl evaluate` with the same fraction scores data the model has never seen.
import { createModelQuality } from '../model/online-quality.ts';
import { writeSnapshotFile } from '../model/model-store.ts';
import { createRetryModel, RETRY_MODEL_DEFAULTS } from '../model/retry-model.ts';
import { timeOrderedSplit } from '../model/evaluation.ts';
import { parseFraction, readEventsOrExit } from './read-events-or-exit.ts';

export interface TrainOptions {
  data: string[];
  out: string;
  testFraction: string;
  hashBits?: string;
  passes: string;
}

export async function trainCommand(options: TrainOptions): Promise<void> {
  const testFraction = parseFraction('--test-fraction', options.testFraction);
  const hashBits = Number(options.hashBits ?? RETRY_MODEL_DEFAULTS.hashBits);
  const passes = Number(options.passes);
  if (!Number.isInteger(passes) || passes < 1 || passes > 20) {
    process.stderr.write('--passes: expected an integer 1..20\n');
    process.exit(2);
  }
  const events = await readEventsOrExit(options.data);
  const { train } = timeOrderedSplit(events, testFraction);
  const model = createRetryModel({ hashBits });
  const quality = createModelQuality(Math.max(100, train.length));
  const started = performance.now();
  for (let pass = 0; pass < passes; pass++) {
    for (const e of train) {
      const p = model.learn(e, e.retried);
      // progressive validation: only the first pass scores events the model has not seen
      if (pass === 0) quality.record(e, p, e.retried);
    }
  }
  const seconds = (performance.now() - started) / 1000;
  const report = quality.report();
  const snapshot = model.snapshot({
    createdAtMs: Date.now(),
    trainingWindow: { fromMs: train[0]?.startedAtMs ?? 0, toMs: train.at(-1)?.startedAtMs ?? 0, events: train.length * passes },
    quality: report as unknown as Record<string, unknown>,
  });
  await writeSnapshotFile(options.out, snapshot);
  const f = (x: number | null) => (x === null ? 'n/a' : x.toFixed(4));
  process.stdout.write(
    `trained ${snapshot.version} on ${train.length} events (${passes} pass(es), ${Math.round((train.length * passes) / seconds)} events/s), held out the last ${events.length - train.length}\n` +
      `progressive validation on the training stream: AUC ${f(report.model.auc)}  log loss ${f(report.model.logLoss)}  ECE ${f(report.model.ece)}\n` +
      `wrote ${options.out}\n`,
  );
}
