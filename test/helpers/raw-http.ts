// Raw HTTP/1.1 over node:net for e2e tests: writes exact bytes (malformed requests included) and
// reads the exact response, so nothing in a client library normalises what is sent or received.
import { connect, type Socket } from 'node:net';

export interface RawResponse {
  /** Everything the server sent, as latin1 text. */
  readonly raw: string;
  /** 0 when the server sent no parsable status line. */
  readonly status: number;
  /** Lower-case names; repeated headers joined with ", ". */
  readonly headers: Record<string, string>;
  readonly body: string;
  /** True when the server closed (or reset) the connection. */
  readonly isClosed: boolean;
  /** The socket error code when the connection was reset, e.g. ECONNRESET. */
  readonly errorCode: string | undefined;
}

export function parseRawResponse(raw: string, isClosed: boolean, errorCode: string | undefined): RawResponse {
  const end = raw.indexOf('\r\n\r\n');
  if (end === -1) return { raw, status: 0, headers: {}, body: '', isClosed, errorCode };
  const lines = raw.slice(0, end).split('\r\n');
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? '')?.[1] ?? 0);
  const headers: Record<string, string> = {};
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
  }
  return { raw, status, headers, body: raw.slice(end + 4), isClosed, errorCode };
}

/** True once `raw` holds one whole response framed by Content-Length (or a bodiless one). */
function isCompleteResponse(raw: string, isHead: boolean): boolean {
  const end = raw.indexOf('\r\n\r\n');
  if (end === -1) return false;
  const head = raw.slice(0, end);
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1] ?? 0);
  if (status !== 0 && status < 200) return false; // 1xx: the final response follows
  if (isHead || status === 204 || status === 304) return true;
  if (/\r\ntransfer-encoding:\s*chunked/i.test(head)) return /(^|\r\n)0\r\n\r\n$/.test(raw.slice(end + 4));
  const length = /\r\ncontent-length:\s*(\d+)/i.exec(head)?.[1];
  if (length === undefined) return false; // close-delimited: wait for the close
  return Buffer.byteLength(raw.slice(end + 4), 'latin1') >= Number(length);
}

export interface RawOptions {
  /** Give up (and report what arrived) after this long; default 5 s. */
  readonly timeoutMs?: number;
  /** Resolve once one whole response arrived instead of waiting for the server to close. */
  readonly untilResponse?: boolean;
  readonly isHead?: boolean;
}

/** Opens a connection to the proxy (an `http://127.0.0.1:PORT` URL). */
export function openRaw(baseUrl: string): Promise<Socket> {
  const { hostname, port } = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: hostname, port: Number(port) }, () => resolve(socket));
    socket.once('error', reject);
  });
}

/** Reads from an open socket until the server closes it, a whole response arrived (untilResponse), or the timeout. */
export function readRaw(socket: Socket, options: RawOptions = {}): Promise<RawResponse> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let errorCode: string | undefined;
    let isDone = false;
    const finish = (isClosed: boolean): void => {
      if (isDone) return;
      isDone = true;
      clearTimeout(timer);
      socket.off('data', onData);
      resolve(parseRawResponse(Buffer.concat(chunks).toString('latin1'), isClosed, errorCode));
    };
    const onData = (chunk: Buffer): void => {
      chunks.push(chunk);
      if (options.untilResponse === true && isCompleteResponse(Buffer.concat(chunks).toString('latin1'), options.isHead === true)) finish(false);
    };
    const timer = setTimeout(() => finish(socket.destroyed || socket.readableEnded), options.timeoutMs ?? 5000);
    socket.on('data', onData);
    socket.once('error', (err: Error & { code?: string }) => {
      errorCode = err.code;
      finish(true);
    });
    socket.once('end', () => finish(true));
    socket.once('close', () => finish(true));
    if (socket.destroyed || socket.readableEnded) finish(true);
  });
}

/** Sends exact bytes on a new connection and reads the response; the socket is always destroyed after. */
export async function rawRequest(baseUrl: string, bytes: string | Buffer, options: RawOptions = {}): Promise<RawResponse> {
  const socket = await openRaw(baseUrl);
  try {
    const reading = readRaw(socket, options);
    socket.write(bytes);
    return await reading;
  } finally {
    socket.destroy();
  }
}
