// The one place where errors become HTTP: status from the catalogue, JSON body {error, code, requestId}.
// Causes are logged by the caller, never sent to the client.
import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { STATUS_CODES } from 'node:http';
import { errorFields, type ErrorSpec } from '../core/errors.ts';

export function errorBody(spec: ErrorSpec, requestId: string): string {
  return JSON.stringify({ ...errorFields(spec), requestId });
}

export function sendError(res: ServerResponse, spec: ErrorSpec, requestId: string, requestIdHeader: string, extraHeaders?: Record<string, string>): void {
  if (res.headersSent) {
    // the response has started: the only honest signal left is to cut the connection
    res.destroy();
    return;
  }
  const body = errorBody(spec, requestId);
  res.writeHead(spec.status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
    [requestIdHeader]: requestId,
    ...extraHeaders,
  });
  res.end(body);
}

/** For errors found before Node built a request (parse errors, limits): a raw response, then close. */
export function sendRawError(socket: Socket, spec: ErrorSpec, requestId: string, requestIdHeader: string, extraHeaders?: Readonly<Record<string, string>>): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const body = errorBody(spec, requestId);
  let extra = '';
  for (const name in extraHeaders) extra += `${name}: ${extraHeaders[name]}\r\n`;
  socket.end(
    `HTTP/1.1 ${spec.status} ${STATUS_CODES[spec.status] ?? 'Error'}\r\n` +
      `content-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n` +
      `${requestIdHeader}: ${requestId}\r\n${extra}connection: close\r\n\r\n${body}`,
  );
}
