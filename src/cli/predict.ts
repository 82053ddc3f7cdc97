// `sibyl predict --model M`: reads events on stdin (one JSON object per line: Sibyl's event fields,
// or the /predict_retry body) and writes one line per event with its retry probability.
import { createInterface } from 'node:readline';
import { parsePredictBody, toFeatureInput } from '../admin/predict-api.ts';
import type { FeatureInput } from '../model/features.ts';
import { createRetryModel } from '../model/retry-model.ts';
import { readSnapshotOrExit } from './read-events-or-exit.ts';

export async function predictCommand(options: { model: string }): Promise<void> {
  const snapshot = await readSnapshotOrExit(options.model);
  const model = createRetryModel({}, snapshot);
  let lineNo = 0;
  let bad = 0;
  for await (const line of createInterface({ input: process.stdin, crlfDelay: Infinity })) {
    lineNo++;
    if (line.trim() === '') continue;
    let record: Record<string, unknown>;
    try {
      record = JSON.parse(line) as Record<string, unknown>;
    } catch {
      process.stderr.write(`stdin:${lineNo}: not a JSON object\n`);
      bad++;
      continue;
    }
    let input: FeatureInput;
    if ('status_code' in record) {
      const parsed = parsePredictBody(record);
      if (!parsed.ok) {
        process.stderr.write(`stdin:${lineNo}: ${parsed.field}: ${parsed.message}\n`);
        bad++;
        continue;
      }
      input = toFeatureInput(parsed.requests[0]!);
    } else if (typeof record.status === 'number') {
      input = record as unknown as FeatureInput;
    } else {
      process.stderr.write(`stdin:${lineNo}: needs "status" (event) or "status_code" (/predict_retry body)\n`);
      bad++;
      continue;
    }
    const out = { requestId: record.requestId, retry_probability: model.predict(input) };
    process.stdout.write(`${JSON.stringify(out)}\n`);
  }
  if (bad > 0) process.exitCode = 1;
}
