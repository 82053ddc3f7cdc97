// The admin listener's one place where errors become HTTP: an error of the catalogue (core/errors.ts)
// as its status and a JSON body {error, code, ...}, and a refused runtime command (its domain reason)
// as the catalogue error that reason stands for.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Errors, errorFields, type ErrorSpec } from '../core/errors.ts';
import type { Refusal, Refused } from '../runtime/command-result.ts';

const MAX_ADMIN_BODY_BYTES = 64 * 1024;

/** `indent` 0 for answers read by programs at a high rate (the dashboard's snapshot). */
export function sendJson(res: ServerResponse, status: number, value: unknown, indent = 2): void {
  const body = JSON.stringify(value, null, indent);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' });
  res.end(body);
}

/** `message` says more than the catalogue's (which object, which field); `extra` adds fields to the body. */
export function sendProblem(res: ServerResponse, spec: ErrorSpec, message?: string, extra?: Record<string, unknown>): void {
  sendJson(res, spec.status, { ...errorFields(spec, message), ...extra });
}

const REFUSALS: Record<Refusal, ErrorSpec> = {
  'unknown-backend': Errors.adminNotFound,
  'unknown-rollout': Errors.adminNotFound,
  'unknown-blue-green': Errors.adminNotFound,
  'invalid-weight': Errors.adminBadRequest,
  'invalid-transition': Errors.adminConflict,
  'smoke-failed': Errors.smokeFailed,
};

/** A runtime command that refused: its reason's status and code, its message. */
export function sendRefusal(res: ServerResponse, refusal: Refused, extra?: Record<string, unknown>): void {
  sendProblem(res, REFUSALS[refusal.reason], refusal.message, extra);
}

/** Reads a small JSON body; undefined (and a 400/413 already sent) when it is not valid. */
export async function readJsonBody(req: IncomingMessage, res: ServerResponse): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_ADMIN_BODY_BYTES) {
      sendProblem(res, Errors.adminBodyTooLarge, `admin request bodies are limited to ${MAX_ADMIN_BODY_BYTES} bytes`);
      return undefined;
    }
    chunks.push(chunk);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    sendProblem(res, Errors.adminBadJson, 'the request body is not valid JSON');
    return undefined;
  }
}
