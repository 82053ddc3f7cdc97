// Per-response detail, for a reader who wants to see where Sibyl's numbers come from: every attempt a
// client made joined with Sibyl's record (the --dump NDJSON), the calibration of Sibyl's prediction on
// FAILED responses per library x method x status, and Sibyl's prediction over the first seconds of
// each profile against the rest (is the model cold when a profile starts?). Printed on stdout only.
import { writeFile } from 'node:fs/promises';
import type { AttemptRecord } from './attempt-recorder.ts';
import { logLoss } from './scoring.ts';
import type { SibylRecord } from './sibyl-records.ts';

/** One attempt of a finished logical request, as the client saw it, with what Sibyl recorded for it. */
export interface JoinedResponse {
  readonly profile: string;
  readonly library: string;
  readonly instance: string;
  readonly logicalId: number;
  /** HTTP method on the wire (DynamoDB: POST) and, for DynamoDB, its operation. */
  readonly method: string;
  readonly operation: string | null;
  readonly pathKind: 'items' | 'orders' | 'dynamodb';
  /** Sibyl's x-request-id; null when no response came back (then every Sibyl field is null too). */
  readonly requestId: string | null;
  readonly status: number | null;
  /** Transport error code when no response came back. */
  readonly error: string | null;
  /** The library's attempt index (1 = first attempt of the logical request). */
  readonly attemptIndex: number;
  readonly sibylAttempt: number | null;
  readonly sibylRepeat: boolean | null;
  readonly prediction: number | null;
  /** Sibyl's label: 1, 0, null (unlabelled at shutdown, or never written: see sibylLabelWritten). */
  readonly sibylRetried: 0 | 1 | null;
  readonly sibylLabelWritten: boolean;
  /** 1 when the library sent another attempt of the same logical request after this one. */
  readonly truth: 0 | 1;
  /** From the start of the profile the logical request started in to the response (or the error). */
  readonly msSinceProfileStart: number;
  /** A deliberate re-send by the application (a new logical request), not a library retry. */
  readonly isRepeat: boolean;
}

export function joinResponses(attempts: readonly AttemptRecord[], records: ReadonlyMap<string, SibylRecord>, profileStartMs: (profile: string) => number): JoinedResponse[] {
  return attempts.map((a) => {
    const s = a.requestId === undefined ? undefined : records.get(a.requestId);
    return {
      profile: a.profile,
      library: a.library,
      instance: a.instance,
      logicalId: a.logicalId,
      method: a.method,
      operation: a.operation ?? null,
      pathKind: a.pathKind,
      requestId: a.requestId ?? null,
      status: a.status ?? null,
      error: a.error ?? null,
      attemptIndex: a.attemptIndex,
      sibylAttempt: s?.attempt ?? null,
      sibylRepeat: s?.repeat ?? null,
      prediction: s?.prediction ?? null,
      sibylRetried: s?.retried ?? null,
      sibylLabelWritten: s?.retried !== undefined,
      truth: a.truth,
      msSinceProfileStart: (a.endedAtMs ?? a.sentAtMs) - profileStartMs(a.profile),
      isRepeat: a.isRepeat,
    };
  });
}

export async function writeDump(path: string, rows: readonly JoinedResponse[]): Promise<void> {
  await writeFile(path, rows.map((r) => `${JSON.stringify(r)}\n`).join(''));
}

export interface CalibrationRow {
  readonly library: string;
  readonly method: string;
  /** The status code, or `error:CODE` for a transport error. */
  readonly status: string;
  readonly count: number;
  /** Of `count`, those with a Sibyl prediction (a transport error has none). */
  readonly predicted: number;
  readonly meanPrediction: number | null;
  readonly truthRate: number;
}

export interface WindowScore {
  readonly predicted: number;
  readonly meanPrediction: number | null;
  readonly truthRate: number | null;
  readonly logLoss: number | null;
}

export interface ProfileCalibration {
  readonly name: string;
  /** Truth positives among the profile's responses (the breakdown is printed only when > 0). */
  readonly positives: number;
  readonly failed: readonly CalibrationRow[];
  readonly early: WindowScore;
  readonly rest: WindowScore;
}

export const EARLY_MS = 5_000;

const mean = (xs: readonly number[]): number | null => (xs.length === 0 ? null : xs.reduce((a, b) => a + b, 0) / xs.length);

function windowScore(rows: readonly JoinedResponse[]): WindowScore {
  const predicted = rows.filter((r) => r.prediction !== null);
  const scores = predicted.map((r) => r.prediction!);
  const labels = predicted.map((r) => r.truth);
  return { predicted: predicted.length, meanPrediction: mean(scores), truthRate: mean(labels), logLoss: logLoss(scores, labels) };
}

const isFailed = (r: JoinedResponse): boolean => r.status === null || r.status >= 400;

export function calibrationOf(name: string, rows: readonly JoinedResponse[], libraryOrder: readonly string[]): ProfileCalibration {
  const own = rows.filter((r) => r.profile === name);
  const cells = new Map<string, { library: string; method: string; status: string; rows: JoinedResponse[] }>();
  for (const r of own.filter(isFailed)) {
    const method = r.operation === null ? r.method : `${r.method} ${r.operation}`;
    const status = r.status === null ? `error:${r.error ?? '?'}` : String(r.status);
    const key = `${r.library}\0${method}\0${status}`;
    const cell = cells.get(key) ?? { library: r.library, method, status, rows: [] };
    cell.rows.push(r);
    cells.set(key, cell);
  }
  const failed = [...cells.values()]
    .sort((a, b) => libraryOrder.indexOf(a.library) - libraryOrder.indexOf(b.library) || a.method.localeCompare(b.method) || a.status.localeCompare(b.status))
    .map((c) => {
      const predictions = c.rows.flatMap((r) => (r.prediction === null ? [] : [r.prediction]));
      return { library: c.library, method: c.method, status: c.status, count: c.rows.length, predicted: predictions.length, meanPrediction: mean(predictions), truthRate: mean(c.rows.map((r) => r.truth))! };
    });
  const responses = own.filter((r) => r.requestId !== null);
  return {
    name,
    positives: responses.filter((r) => r.truth === 1).length,
    failed,
    early: windowScore(responses.filter((r) => r.msSinceProfileStart < EARLY_MS)),
    rest: windowScore(responses.filter((r) => r.msSinceProfileStart >= EARLY_MS)),
  };
}

const f3 = (v: number | null): string => (v === null ? '-' : v.toFixed(3));
const f4 = (v: number | null): string => (v === null ? '-' : v.toFixed(4));

function windowLine(w: WindowScore): string {
  return `${w.predicted} predicted, mean prediction ${f3(w.meanPrediction)}, truth rate ${f3(w.truthRate)}, log loss ${f4(w.logLoss)}`;
}

/** Stdout only (not the docs section): the breakdown for the profiles with positives, the early/rest line for all. */
export function renderCalibration(profiles: readonly ProfileCalibration[], clip: number): string {
  const lines = [`Calibration on FAILED responses (status >= 400 or no response), per profile with positives; log loss clipped at ${clip}:`];
  for (const p of profiles) {
    if (p.positives === 0) continue;
    lines.push(
      '',
      `${p.name} (${p.positives} positives):`,
      '| library | method | status | count | mean Sibyl prediction | truth retry rate |',
      '|---|---|---|---|---|---|',
      ...p.failed.map((r) => `| ${r.library} | ${r.method} | ${r.status} | ${r.count}${r.predicted < r.count ? ` (${r.predicted} predicted)` : ''} | ${f3(r.meanPrediction)} | ${f3(r.truthRate)} |`),
    );
  }
  lines.push('', `First ${EARLY_MS / 1000} s of each profile vs the rest (all responses with a prediction, timed at the response):`);
  for (const p of profiles) lines.push(`- ${p.name}: first ${EARLY_MS / 1000} s: ${windowLine(p.early)}; rest: ${windowLine(p.rest)}`);
  return lines.join('\n');
}
