// What Sibyl recorded about each response, by request id: its prediction and label from the
// telemetry NDJSON (rotated files included), with the access log as fallback for the fields that
// telemetry lacks (and the client IP, which only the access log has).
import { readdir, readFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

export interface SibylRecord {
  readonly requestId: string;
  /** P(retry) Sibyl predicted when the response ended; undefined when neither source has it. */
  readonly prediction: number | undefined;
  readonly predictionSource: 'telemetry' | 'access-log' | undefined;
  /** Sibyl's label: 1 retried, 0 not, null still unlabelled at shutdown, undefined never written. */
  readonly retried: 0 | 1 | null | undefined;
  readonly attempt: number | undefined;
  readonly repeat: boolean | undefined;
  readonly clientKey: string | undefined;
  readonly clientIp: string | undefined;
  readonly status: number | undefined;
}

type Json = Record<string, unknown>;

function parseLines(text: string): Json[] {
  const out: Json[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    try {
      out.push(JSON.parse(line) as Json);
    } catch {
      // a torn last line or a non-JSON line: not a record
    }
  }
  return out;
}

/** The NDJSON file and its rotated siblings (name.1, name.2, ...). */
export async function readTelemetry(path: string): Promise<Json[]> {
  let names: string[];
  try {
    names = (await readdir(dirname(path))).filter((n) => n === basename(path) || n.startsWith(`${basename(path)}.`));
  } catch {
    return [];
  }
  const texts = await Promise.all(names.map((n) => readFile(join(dirname(path), n), 'utf8')));
  return texts.flatMap(parseLines);
}

const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

function label(v: unknown): 0 | 1 | null | undefined {
  if (v === 0 || v === 1 || v === null) return v;
  if (v === true) return 1;
  if (v === false) return 0;
  return undefined;
}

function repeatFlag(v: unknown): boolean | undefined {
  if (typeof v === 'boolean') return v;
  if (v === 0 || v === 1) return v === 1;
  return undefined;
}

export function joinSibylRecords(telemetry: readonly Json[], stdoutLines: readonly string[]): Map<string, SibylRecord> {
  const fromTelemetry = new Map<string, Json>();
  for (const e of telemetry) if (typeof e.requestId === 'string') fromTelemetry.set(e.requestId, e);
  const fromAccess = new Map<string, Json>();
  for (const line of stdoutLines) {
    if (!line.includes('"access"')) continue;
    for (const e of parseLines(line)) if (e.log === 'access' && typeof e.requestId === 'string') fromAccess.set(e.requestId, e);
  }
  const out = new Map<string, SibylRecord>();
  for (const id of new Set([...fromTelemetry.keys(), ...fromAccess.keys()])) {
    const t = fromTelemetry.get(id) ?? {};
    const a = fromAccess.get(id) ?? {};
    const telemetryPrediction = num(t.prediction);
    const accessPrediction = num(a.retryProbability) ?? num(a.prediction);
    out.set(id, {
      requestId: id,
      prediction: telemetryPrediction ?? accessPrediction,
      predictionSource: telemetryPrediction !== undefined ? 'telemetry' : accessPrediction !== undefined ? 'access-log' : undefined,
      retried: 'retried' in t ? label(t.retried) : label(a.retried),
      attempt: num(t.attempt) ?? num(a.attempt),
      repeat: repeatFlag(t.repeat) ?? repeatFlag(a.repeat),
      clientKey: str(t.clientKey) ?? str(a.clientKey),
      clientIp: str(a.clientIp),
      status: num(t.status) ?? num(a.status),
    });
  }
  return out;
}
