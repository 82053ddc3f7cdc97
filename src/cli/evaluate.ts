// `sibyl evaluate --model M --data F`: scores a model on the held-out later time slice next to the
// two baselines, with a reliability table. Refuses to pretend: if the model was trained on events
// of the test slice, it says so.
import { evaluate, timeOrderedSplit, type Scores } from '../model/evaluation.ts';
import { createRetryModel } from '../model/retry-model.ts';
import { parseFraction, readEventsOrExit, readSnapshotOrExit } from './read-events-or-exit.ts';

function row(name: string, s: Scores): string {
  const f = (x: number | null) => (x === null ? '   n/a' : x.toFixed(4));
  return `| ${name.padEnd(22)} | ${f(s.auc)} | ${f(s.logLoss)} | ${f(s.brier)} | ${f(s.ece)} |`;
}

export async function evaluateCommand(options: { model: string; data: string[]; testFraction: string; json?: boolean }): Promise<void> {
  const testFraction = parseFraction('--test-fraction', options.testFraction);
  const snapshot = await readSnapshotOrExit(options.model);
  const model = createRetryModel({}, snapshot);
  const events = await readEventsOrExit(options.data);
  const split = timeOrderedSplit(events, testFraction);
  const report = evaluate((e) => model.predict(e), split);
  // the training window spans start times; a test event starting inside it may have been learned
  const overlap = split.test.filter((e) => (e.startedAtMs ?? 0) < snapshot.trainingWindow.toMs).length;
  if (options.json === true) {
    process.stdout.write(`${JSON.stringify({ modelVersion: snapshot.version, overlapWithTraining: overlap, ...report }, null, 2)}\n`);
    return;
  }
  const lines = [
    `model ${snapshot.version}; test slice: the last ${report.testEvents} events (from ${new Date(report.testFromMs).toISOString()}), baselines fitted on the ${report.trainEvents} before; retried rate ${(100 * report.positiveRate).toFixed(1)} %`,
    overlap > 0 ? `WARNING: ${overlap} test events are inside the model's training window: these figures are not a held-out evaluation` : 'the model was not trained on any test event',
    '',
    '| predictor              |    AUC | logloss |  Brier |    ECE |',
    '|------------------------|--------|---------|--------|--------|',
    row('retry model', report.model),
    row('baseline: status>=500', report.baselines.status5xx),
    row('baseline: per status', report.baselines.perStatus),
    '',
    'reliability (retry model)',
    '| predicted   | count | mean predicted | observed |',
    '|-------------|-------|----------------|----------|',
    ...report.reliability.filter((r) => r.count > 0).map((r) => `| ${r.from.toFixed(1)} - ${r.to.toFixed(1)} | ${String(r.count).padStart(5)} | ${(r.meanPredicted ?? 0).toFixed(3).padStart(14)} | ${(r.observedRate ?? 0).toFixed(3).padStart(8)} |`),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}
