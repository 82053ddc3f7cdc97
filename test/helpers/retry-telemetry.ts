// Retry telemetry seen from outside a running Sibyl: a backend that answers whatever a request asks
// for, the labelled events of the NDJSON sink, and the model report of the admin API.
import { readFile } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { startTestBackend, type TestBackend } from './backends.ts';
import { adminJson } from './sibyl-control.ts';
import { eventually } from './sibyl-process.ts';

/** One NDJSON line: an attempt event with its label (the fields the tests read). */
export interface LabelledLine {
  readonly requestId: string;
  readonly clientKey: string;
  readonly fingerprint: string;
  readonly attempt: number;
  readonly repeat: boolean;
  readonly retried: 0 | 1 | null;
  readonly prediction: number;
  readonly status: number;
  readonly method: string;
  readonly userAgentFamily: string;
  readonly [field: string]: unknown;
}

export interface QualityView {
  readonly count: number;
  readonly auc: number | null;
  readonly logLoss: number | null;
  readonly brier: number | null;
  readonly ece: number | null;
  readonly positiveRate: number | null;
}

export interface ModelView {
  readonly modelVersion: string;
  readonly updates: number;
  /** Final labels (0 or 1) so far, in the order the NDJSON sink wrote them. */
  readonly labelled: number;
  /** Examples the learner took (failures only; a provisional 0 and its correction count twice). */
  readonly learned: number;
  readonly learnerBacklog: number;
  readonly trackedKeys: number;
  readonly quality: { readonly model: QualityView; readonly baselines: { readonly status5xx: QualityView; readonly perStatus: QualityView } };
}

export interface PredictView {
  readonly retry_probability: number;
  readonly recommended_action: string;
  readonly model_version: string;
}

function headerNumber(req: IncomingMessage, name: string, fallback: number): number {
  const value = Number(req.headers[name]);
  return Number.isFinite(value) ? value : fallback;
}

/**
 * A backend whose answer each request chooses: status from `x-want-status` (default 200), delay
 * from `x-want-delay-ms` (default 0), or, without the header, from `statusOf(req)` when given.
 */
export function scriptedBackend(name: string, statusOf?: (req: IncomingMessage) => number): Promise<TestBackend> {
  return startTestBackend(name, (req, res) => {
    const status = req.headers['x-want-status'] !== undefined ? headerNumber(req, 'x-want-status', 200) : (statusOf?.(req) ?? 200);
    const answer = (): void => {
      res.writeHead(status, { 'content-type': 'text/plain', 'x-served-by': name });
      res.end(`${name}:${status}`);
    };
    const delayMs = headerNumber(req, 'x-want-delay-ms', 0);
    if (delayMs > 0) setTimeout(answer, delayMs);
    else answer();
  });
}

/** The complete lines of the NDJSON file so far (a line still being written is left out); none when it does not exist yet. */
export async function readLabelledEvents(path: string): Promise<LabelledLine[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as { code?: string }).code === 'ENOENT') return [];
    throw err;
  }
  const complete = text.slice(0, text.lastIndexOf('\n') + 1);
  return complete
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as LabelledLine);
}

/** Polls the NDJSON file until every request id has its line; returns the lines by request id. */
export async function waitForLabelledEvents(path: string, requestIds: readonly string[], timeoutMs: number): Promise<Map<string, LabelledLine>> {
  let seen = new Map<string, LabelledLine>();
  try {
    const all = await eventually(
      async () => {
        seen = new Map((await readLabelledEvents(path)).map((line) => [line.requestId, line]));
        return requestIds.every((id) => seen.has(id)) ? seen : undefined;
      },
      timeoutMs,
      50,
    );
    return all!;
  } catch (err) {
    const missing = requestIds.filter((id) => !seen.has(id));
    throw new Error(`labelled events missing for ${missing.join(', ')}: ${(err as Error).message}`, { cause: err });
  }
}

export async function modelView(adminUrl: string): Promise<ModelView> {
  const { status, body } = await adminJson<ModelView>(adminUrl, '/api/model');
  if (status !== 200) throw new Error(`GET /api/model answered ${status}`);
  return body;
}

export async function predictRetry(adminUrl: string, request: Record<string, unknown>): Promise<PredictView> {
  const { status, body } = await adminJson<PredictView>(adminUrl, '/predict_retry', 'POST', request);
  if (status !== 200) throw new Error(`POST /predict_retry answered ${status}: ${JSON.stringify(body)}`);
  return body;
}
