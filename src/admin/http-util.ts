import type { IncomingMessage, ServerResponse } from 'node:http';

const MAX_ADMIN_BODY_BYTES = 64 * 1024;

/** `indent` 0 for answers read by programs at a high rate (the dashboard's snapshot). */
export function sendJson(res: ServerResponse, status: number, value: unknown, indent = 2): void {
  const body = JSON.stringify(value, null, indent);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' });
  res.end(body);
}

export function sendProblem(res: ServerResponse, status: number, code: string, message: string): void {
  sendJson(res, status, { error: message, code });
}

/** Reads a small JSON body; undefined (and a 400/413 already sent) when it is not valid. */
export async function readJsonBody(req: IncomingMessage, res: ServerResponse): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_ADMIN_BODY_BYTES) {
      sendProblem(res, 413, 'SIBYL_ERR_ADMIN_BODY_TOO_LARGE', `admin request bodies are limited to ${MAX_ADMIN_BODY_BYTES} bytes`);
      return undefined;
    }
    chunks.push(chunk);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    sendProblem(res, 400, 'SIBYL_ERR_ADMIN_BAD_JSON', 'the request body is not valid JSON');
    return undefined;
  }
}
