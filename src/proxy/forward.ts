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
  /** Statuses held back (not relayed) because a retry may follow; undefined: relay everything. */
  readonly holdStatuses: ReadonlySet<number> | undefined;
  /** Per-attempt time to response headers ([retry] per_try_timeout); undefined: the pool's. */
  readonly headersTimeoutMs: number | undefined;
  /** Called exactly once, when the attempt is over. */
  readonly onDone: (outcome: Outcome, error: ErrorSpec | undefined, cause: unknown, response: ResponseFacts) => void;
}

/** What telemetry and the retry decision want to know about the response. */
export interface ResponseFacts {
  bytesOut: number;
  retryAfterSec: number | undefined;
  /** A retryable response kept back whole: relayed by releaseHeld() unless a retry replaces it. */
  held: HeldResponse | undefined;
}

export interface HeldResponse {
  readonly status: number;
  readonly statusText: string;
  readonly headers: string[];
  readonly chunks: Buffer[];
  size: number;
}

/** A held response larger than this is relayed as it comes (and can no longer be retried). */
const MAX_HELD_BYTES = 64 * 1024;

export function releaseHeld(res: ServerResponse, held: HeldResponse, isDraining: boolean): void {
  if (isDraining) res.shouldKeepAlive = false;
  res.writeHead(held.status, held.statusText, held.headers);
  for (const chunk of held.chunks) res.write(chunk);
  res.end();
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
  readonly #facts: ResponseFacts = { bytesOut: 0, retryAfterSec: undefined, held: undefined };
  #held: HeldResponse | undefined;

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
    if (ctx.holdStatuses?.has(statusCode) === true) {
      this.#held = { status: statusCode, statusText, headers, chunks: [], size: 0 };
      return true;
    }
    if (ctx.isDraining()) ctx.res.shouldKeepAlive = false;
    ctx.res.writeHead(statusCode, statusText, headers);
    return true;
  }

  onData(chunk: Buffer): boolean {
    this.#facts.bytesOut += chunk.length;
    const held = this.#held;
    if (held !== undefined) {
      if (held.size + chunk.length <= MAX_HELD_BYTES) {
        held.chunks.push(chunk);
        held.size += chunk.length;
        return true;
      }
      // too big to hold: relay what we have and stream the rest; this attempt is no longer retryable
      this.#held = undefined;
      const res = this.#ctx.res;
      if (this.#ctx.isDraining()) res.shouldKeepAlive = false;
      res.writeHead(held.status, held.statusText, held.headers);
      for (const c of held.chunks) res.write(c);
    }
    const isWritable = this.#ctx.res.write(chunk);
    // backpressure: pause the upstream socket until the client catches up
    if (!isWritable && this.#resume !== undefined) this.#ctx.res.once('drain', this.#resume);
    return isWritable;
  }

  onComplete(_trailers: string[] | null): void {
    if (this.#held !== undefined) this.#facts.held = this.#held;
    else this.#ctx.res.end();
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

export function forward(ctx: AttemptContext, headers: string[], body: Readable | Buffer | null): void {
  const handler = new ForwardHandler(ctx);
  const options: Dispatcher.DispatchOptions = { path: ctx.req.url ?? '/', method: ctx.req.method as Dispatcher.HttpMethod, headers, body };
  if (ctx.headersTimeoutMs !== undefined) options.headersTimeout = ctx.headersTimeoutMs;
  ctx.backend.pool.dispatch(options, handler);
}
