// Reads labelled events for offline training and evaluation: NDJSON as Sibyl's sink writes it,
// or CSV whose header names the same fields (docs/retry-prediction.md). Every bad line is reported
// with its line number; nothing is guessed.
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import type { LabelledEvent } from './attempt-event.ts';

const NUMERIC = new Set([
  'startedAtMs', 'endedAtMs', 'attempt', 'status', 'latencyMs', 'bytesIn', 'bytesOut', 'retryAfterSec',
  'clientRetryRate', 'clientLabelCount', 'backendLatencyEwmaMs', 'backendErrorEwma', 'backendInFlight', 'prediction', 'retried',
]);

export interface ReadResult {
  readonly events: LabelledEvent[];
  readonly problems: string[];
  /** Events written with retried = null (still inside the retry window at shutdown): skipped. */
  readonly unlabelled: number;
}

/** The label field of a record that is not yet labelled: skipped, counted, not a problem. */
const UNLABELLED = Symbol('unlabelled');

function validate(record: Record<string, unknown>, where: string, problems: string[]): LabelledEvent | typeof UNLABELLED | undefined {
  const status = record.status;
  if (typeof status !== 'number' || !Number.isInteger(status) || status < 0 || status > 999) {
    problems.push(`${where}: "status" must be an integer 0..999`);
    return undefined;
  }
  if (record.retried === null || (record.retried === undefined && 'retried' in record)) return UNLABELLED;
  if (record.retried !== 0 && record.retried !== 1) {
    problems.push(`${where}: "retried" must be 0, 1 (the label) or null (not known yet: skipped)`);
    return undefined;
  }
  for (const key of NUMERIC) {
    const v = record[key];
    if (v !== undefined && (typeof v !== 'number' || !Number.isFinite(v))) {
      problems.push(`${where}: "${key}" must be a finite number`);
      return undefined;
    }
  }
  return record as unknown as LabelledEvent;
}

function parseCsvLine(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') {
        cur += '"';
        i++;
      } else if (c === '"') quoted = false;
      else cur += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      out.push(cur);
      cur = '';
    } else cur += c;
  }
  out.push(cur);
  return out;
}

function csvRecord(header: string[], cells: string[]): Record<string, unknown> {
  const record: Record<string, unknown> = {};
  header.forEach((name, i) => {
    const cell = cells[i] ?? '';
    if (cell === '') return;
    record[name] = NUMERIC.has(name) ? Number(cell) : cell;
  });
  return record;
}

/** Reads a .csv (by extension) or NDJSON file. */
export async function readLabelledEvents(path: string): Promise<ReadResult> {
  const events: LabelledEvent[] = [];
  const problems: string[] = [];
  let unlabelled = 0;
  const isCsv = path.toLowerCase().endsWith('.csv');
  let header: string[] | undefined;
  let lineNo = 0;
  const lines = createInterface({ input: createReadStream(path), crlfDelay: Infinity });
  for await (const line of lines) {
    lineNo++;
    if (line.trim() === '') continue;
    const where = `${path}:${lineNo}`;
    let record: Record<string, unknown>;
    if (isCsv) {
      if (header === undefined) {
        header = parseCsvLine(line).map((h) => h.trim());
        if (!header.includes('status') || !header.includes('retried')) problems.push(`${where}: the CSV header must name at least "status" and "retried"`);
        continue;
      }
      record = csvRecord(header, parseCsvLine(line));
    } else {
      try {
        record = JSON.parse(line) as Record<string, unknown>;
      } catch {
        problems.push(`${where}: not a JSON object`);
        continue;
      }
    }
    const event = validate(record, where, problems);
    if (event === UNLABELLED) unlabelled++;
    else if (event !== undefined) events.push(event);
    if (problems.length >= 20) break;
  }
  return { events, problems, unlabelled };
}
