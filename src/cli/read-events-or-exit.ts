import { readSnapshotFile } from '../model/model-store.ts';
import type { ModelSnapshot } from '../model/retry-model.ts';
import type { LabelledEvent } from '../telemetry/attempt-event.ts';
import { readLabelledEvents } from '../telemetry/event-reader.ts';

/** Reads every --data file; prints the problems and exits 1 when any file is bad or empty. */
export async function readEventsOrExit(paths: readonly string[]): Promise<LabelledEvent[]> {
  const all: LabelledEvent[] = [];
  let unlabelled = 0;
  for (const path of paths) {
    const result = await readLabelledEvents(path).catch((err: unknown) => ({ events: [], problems: [`${path}: ${(err as Error).message}`], unlabelled: 0 }));
    if (result.problems.length > 0) {
      process.stderr.write(`${result.problems.join('\n')}\n`);
      process.exit(1);
    }
    for (const e of result.events) all.push(e);
    unlabelled += result.unlabelled;
  }
  if (unlabelled > 0) process.stderr.write(`skipped ${unlabelled} events without a label (retried = null: still inside the retry window when Sibyl stopped)\n`);
  if (all.length === 0) {
    process.stderr.write('no labelled events in the data\n');
    process.exit(1);
  }
  return all;
}

export function parseFraction(flag: string, value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0 || n >= 1) {
    process.stderr.write(`${flag}: expected a number strictly between 0 and 1, got ${JSON.stringify(value)}\n`);
    process.exit(2);
  }
  return n;
}

/** Reads a model snapshot; prints why it cannot be used and exits 1 otherwise. */
export async function readSnapshotOrExit(path: string): Promise<ModelSnapshot> {
  try {
    return await readSnapshotFile(path);
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    process.exit(1);
  }
}
