// forward + classify: one attempt to one backend through its undici pool, bodies streamed both
// ways with backpressure. The handler is undici's native callback interface (no parsing layer).
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import { Errors, type ErrorSpec } from '../core/errors.ts';
import { ErrorKind, type Outcome } from '../core/outcome.ts';
import type { Backend } from '../runtime/backend.ts';
import { clientResponseHeaders } from './headers.ts';

export interface AttemptContext {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly backend: Backend;
  readonly requestId: string;
  readonly requestIdHeader: string;
  readonly via: string | undefined;
  readonly startMs: number;
  readonly now: () => number;
  /** True once a graceful drain began: responses then say Connection: close. */
  readonly isDraining: () => boolean;
  /** Called exactly once, when the attempt is over. */
  readonly onDone: (outcome: Outcome, error: ErrorSpec | undefined, cause: unknown, response: ResponseFacts) => void;
}

/** What telemetry wants to know about the response as relayed. */
export interface ResponseFacts {
  bytesOut: number;
  retryAfterSec: number | undefined;
}

/** Retry-After as delay-seconds or an HTTP-date (RFC 9110 10.2.3), in seconds from now. */
export function retryAfterSeconds(value: string, nowMs: number): number | undefined {
  if (/^\d+$/.test(value)) return Number(value);
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, Math.round((at - nowMs) / 1000));
}

function findRetryAfter(headers: readonly string[]): string | undefined {
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i] as string;
    if (name.length === 11 && name.toLowerCase() === 'retry-after') return headers[i + 1];
  }
  return undefined;
}

/** Maps an undici/socket error to the kind recorded in telemetry and the error answered. */
export function classifyUpstreamError(err: unknown): { kind: ErrorKind; spec: ErrorSpec } {
  const code = (err as { code?: string } | null)?.code ?? '';
  switch (code) {
    case 'ECONNREFUSED':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'EADDRNOTAVAIL':
    case 'ENOTFOUND':
      return { kind: ErrorKind.refused, spec: Errors.upstreamConnect };
    case 'UND_ERR_CONNECT_TIMEOUT':
      return { kind: ErrorKind.connectTimeout, spec: Errors.upstreamConnectTimeout };
    case 'UND_ERR_HEADERS_TIMEOUT':
    case 'UND_ERR_BODY_TIMEOUT':
      return { kind: ErrorKind.timeout, spec: Errors.upstreamTimeout };
    case 'SIBYL_BODY_TOO_LARGE':
      return { kind: ErrorKind.aborted, spec: Errors.bodyTooLarge };
    case 'UND_ERR_ABORTED':
      return { kind: ErrorKind.aborted, spec: Errors.clientAborted };
    case 'HPE_INVALID_CONSTANT':
    case 'HPE_INVALID_STATUS':
    case 'HPE_INVALID_HEADER_TOKEN':
    case 'UND_ERR_INFO':
    case 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH':
      return { kind: ErrorKind.protocol, spec: Errors.upstreamProtocol };
    default:
      return { kind: ErrorKind.reset, spec: Errors.upstreamReset };
  }
}

class ForwardHandler implements Dispatcher.DispatchHandler {
  readonly #ctx: AttemptContext;
  #abort: ((err?: Error) => void) | undefined;
  #status = 0;
  #resume: (() => void) | undefined;
  #isDone = false;
  #isClientGone = false;
  readonly #facts: ResponseFacts = { bytesOut: 0, retryAfterSec: undefined };

  constructor(ctx: AttemptContext) {
    this.#ctx = ctx;
    ctx.res.once('close', () => {
      if (ctx.res.writableFinished) return;
      // the client went away before the response ended: stop the upstream work too
      this.#isClientGone = true;
      this.#abort?.(new ClientGoneError());
    });
  }

  onConnect(abort: (err?: Error) => void): void {
    this.#abort = abort;
    if (this.#isClientGone) abort(new ClientGoneError());
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[], resume: () => void, statusText: string): boolean {
    // 1xx interim responses are not relayed; the final response follows
    if (statusCode < 200) return true;
    const ctx = this.#ctx;
    this.#status = statusCode;
    const headers = clientResponseHeaders(rawHeaders, ctx);
    const retryAfter = findRetryAfter(headers);
    if (retryAfter !== undefined) this.#facts.retryAfterSec = retryAfterSeconds(retryAfter, Date.now());
    this.#resume = resume;
    if (ctx.isDraining()) ctx.res.shouldKeepAlive = false;
    ctx.res.writeHead(statusCode, statusText, headers);
    return true;
  }

  onData(chunk: Buffer): boolean {
    this.#facts.bytesOut += chunk.length;
    const isWritable = this.#ctx.res.write(chunk);
    // backpressure: pause the upstream socket until the client catches up
    if (!isWritable && this.#resume !== undefined) this.#ctx.res.once('drain', this.#resume);
    return isWritable;
  }

  onComplete(_trailers: string[] | null): void {
    this.#ctx.res.end();
    this.#finish({ status: this.#status, errorKind: ErrorKind.none, latencyMs: this.#ctx.now() - this.#ctx.startMs }, undefined, undefined);
  }

  onError(err: Error): void {
    const ctx = this.#ctx;
    if (this.#isClientGone || err instanceof ClientGoneError) {
      this.#finish({ status: this.#status || Errors.clientAborted.status, errorKind: ErrorKind.aborted, latencyMs: ctx.now() - ctx.startMs }, Errors.clientAborted, err);
      return;
    }
    const { kind, spec } = classifyUpstreamError(err);
    // once headers went out, the status the client saw is the backend's; a cut connection is the signal
    const status = this.#status !== 0 ? this.#status : spec.status;
    this.#finish({ status, errorKind: kind, latencyMs: ctx.now() - ctx.startMs }, spec, err);
  }

  #finish(outcome: Outcome, error: ErrorSpec | undefined, cause: unknown): void {
    if (this.#isDone) return;
    this.#isDone = true;
    this.#ctx.onDone(outcome, error, cause, this.#facts);
  }
}

class ClientGoneError extends Error {
  readonly code = 'UND_ERR_ABORTED';
  constructor() {
    super('client went away');
  }
}

export function forward(ctx: AttemptContext, headers: string[], body: Readable | null): void {
  const handler = new ForwardHandler(ctx);
  ctx.backend.pool.dispatch({ path: ctx.req.url ?? '/', method: ctx.req.method as Dispatcher.HttpMethod, headers, body }, handler);
}
