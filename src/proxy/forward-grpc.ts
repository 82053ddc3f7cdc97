// forward + classify for gRPC: HTTP/2 end to end (undici speaks HTTP/1.1 to the backends), one
// multiplexed node:http2 session per backend, trailers relayed, and the call's grpc-status
// mapped onto an HTTP status for the outcome, so that outlier detection, the error EWMAs,
// metrics and telemetry see a failed call as a failure even though its HTTP status was 200.
import type { IncomingMessage, OutgoingHttpHeaders } from 'node:http';
import { connect, constants, type ClientHttp2Session, type ClientHttp2Stream, type IncomingHttpHeaders } from 'node:http2';
import type { Readable } from 'node:stream';
import { Errors, type ErrorSpec } from '../core/errors.ts';
import { ErrorKind, type Outcome } from '../core/outcome.ts';
import type { Metrics } from '../metrics/catalogue.ts';
import type { Backend } from '../runtime/backend.ts';
import { tlsConnectOptions } from '../runtime/upstream-tls.ts';
import { classifyUpstreamError, type AttemptContext, type ResponseFacts } from './forward.ts';

/** grpc-status -> HTTP status, as google.rpc.Code documents the correspondence. */
const GRPC_TO_HTTP: readonly number[] = [200, 499, 500, 400, 504, 404, 409, 403, 429, 400, 409, 400, 501, 500, 503, 500, 401];

export function httpStatusOfGrpc(grpcStatus: number): number {
  return GRPC_TO_HTTP[grpcStatus] ?? 500;
}

/** A gRPC call: HTTP/2 from the client and a gRPC content type (gRPC-Web stays on the HTTP/1.1 path). */
export function isGrpcRequest(req: IncomingMessage): boolean {
  if (req.httpVersionMajor !== 2) return false;
  const type = req.headers['content-type'];
  return type !== undefined && (type === 'application/grpc' || type.startsWith('application/grpc+') || type.startsWith('application/grpc;'));
}

const IDLE_SESSION_MS = 60_000;
const TRAILERS_ONLY_FIELDS = ['grpc-status', 'grpc-message', 'grpc-status-details-bin'] as const;
const sessions = new WeakMap<Backend, ClientHttp2Session>();

function sessionFor(backend: Backend): ClientHttp2Session {
  const existing = sessions.get(backend);
  if (existing !== undefined && !existing.closed && !existing.destroyed) return existing;
  const tls = backend.tls;
  const session = connect(`${tls === undefined ? 'http' : 'https'}://${backend.address}`, tls === undefined ? {} : { ...tlsConnectOptions(tls, backend.host), ALPNProtocols: ['h2'] });
  sessions.set(backend, session);
  const forget = (): void => {
    if (sessions.get(backend) === session) sessions.delete(backend);
  };
  session.once('close', forget);
  session.once('goaway', forget);
  // errors reach the streams; the session itself is only forgotten
  session.on('error', forget);
  session.setTimeout(IDLE_SESSION_MS, () => session.close());
  // an idle connection to a backend must not keep a stopping process alive
  session.unref();
  return session;
}

/** The backend's request headers: the proxied list (hop-by-hop gone, forwarding headers added) as h2. */
function upstreamHeaders(req: IncomingMessage, headers: readonly string[], isTls: boolean): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = { ':method': req.method ?? 'POST', ':path': req.url ?? '/', ':scheme': isTls ? 'https' : 'http' };
  for (let i = 0; i < headers.length; i += 2) {
    const name = (headers[i] as string).toLowerCase();
    const value = headers[i + 1] as string;
    if (name === 'host') {
      out[':authority'] = value;
      continue;
    }
    const previous = out[name];
    out[name] = previous === undefined ? value : Array.isArray(previous) ? [...previous, value] : [String(previous), value];
  }
  // gRPC requires it; it is hop-by-hop, so the proxied list never carries it
  out.te = 'trailers';
  return out;
}

function clientHeaders(h: IncomingHttpHeaders, ctx: AttemptContext): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(h)) {
    if (name.startsWith(':') || name === ctx.requestIdHeader) continue;
    out[name] = value;
  }
  out[ctx.requestIdHeader] = ctx.requestId;
  return out;
}

function grpcStatusOf(h: IncomingHttpHeaders | undefined): number | undefined {
  const value = h?.['grpc-status'];
  return value === undefined ? undefined : Number(value);
}

/** One gRPC attempt: the backend stream's events relayed to the client, the outcome classified once. */
class GrpcAttempt {
  readonly #ctx: AttemptContext;
  readonly #metrics: Metrics;
  readonly #facts: ResponseFacts = { bytesOut: 0, retryAfterSec: undefined, held: undefined };
  #stream: ClientHttp2Stream | undefined;
  #httpStatus = 0;
  #grpcStatus: number | undefined;
  #isDone = false;

  constructor(ctx: AttemptContext, metrics: Metrics) {
    this.#ctx = ctx;
    this.#metrics = metrics;
  }

  start(headers: string[], body: Readable | Buffer | null): void {
    const ctx = this.#ctx;
    let stream: ClientHttp2Stream;
    try {
      stream = sessionFor(ctx.backend).request(upstreamHeaders(ctx.req, headers, ctx.backend.tls !== undefined), { endStream: body === null });
    } catch (error) {
      const { kind, spec } = classifyUpstreamError(error);
      return this.#finish({ status: spec.status, errorKind: kind, latencyMs: this.#latency() }, spec, error);
    }
    this.#stream = stream;
    stream.setTimeout(ctx.headersTimeoutMs ?? ctx.backend.headersTimeoutMs, () => this.#onHeadersTimeout());
    ctx.res.once('close', () => this.#onClientClose());
    stream.on('response', (h: IncomingHttpHeaders, flags: number) => this.#onResponse(h, flags));
    stream.on('data', (chunk: Buffer) => this.#onData(chunk));
    stream.on('trailers', (trailers: IncomingHttpHeaders) => this.#onTrailers(trailers));
    stream.once('end', () => this.#onEnd());
    stream.once('error', (error: Error & { code?: string }) => this.#onError(error));
    stream.once('close', () => this.#onClose());
    if (Buffer.isBuffer(body)) stream.end(body);
    else if (body !== null) body.pipe(stream);
  }

  #latency(): number {
    return this.#ctx.now() - this.#ctx.startMs;
  }

  /** [retry] per_try_timeout, else [proxy] response_header_timeout: no response headers in time is a 504, as on the HTTP/1.1 path. */
  #onHeadersTimeout(): void {
    if (this.#httpStatus !== 0) return;
    this.#finish({ status: Errors.upstreamTimeout.status, errorKind: ErrorKind.timeout, latencyMs: this.#latency() }, Errors.upstreamTimeout, new Error('no gRPC response headers within per_try_timeout'));
    this.#stream?.close(constants.NGHTTP2_CANCEL);
  }

  #onClientClose(): void {
    const res = this.#ctx.res;
    if (res.writableFinished || this.#isDone) return;
    // the client cancelled the call: cancel it at the backend too
    this.#stream?.close(constants.NGHTTP2_CANCEL);
    this.#finish({ status: Errors.clientAborted.status, errorKind: ErrorKind.aborted, latencyMs: this.#latency() }, Errors.clientAborted, undefined);
  }

  #onResponse(h: IncomingHttpHeaders, flags: number): void {
    const { res } = this.#ctx;
    this.#httpStatus = Number(h[':status']);
    this.#grpcStatus = grpcStatusOf(h);
    if (this.#ctx.isDraining()) res.shouldKeepAlive = false;
    const out = clientHeaders(h, this.#ctx);
    if ((flags & constants.NGHTTP2_FLAG_END_STREAM) !== 0 && this.#grpcStatus !== undefined) {
      // a trailers-only response (the call failed before any message): the compat API cannot send
      // one, so its status goes out as trailers after empty headers, which gRPC clients accept too
      const trailers: Record<string, string> = {};
      for (const name of TRAILERS_ONLY_FIELDS) {
        const value = out[name];
        if (value !== undefined) trailers[name] = String(value);
        delete out[name];
      }
      res.addTrailers(trailers);
    }
    res.writeHead(this.#httpStatus, out);
  }

  #onData(chunk: Buffer): void {
    this.#facts.bytesOut += chunk.length;
    const stream = this.#stream;
    if (!this.#ctx.res.write(chunk) && stream !== undefined) {
      // backpressure: stop reading the backend until the client catches up
      stream.pause();
      this.#ctx.res.once('drain', () => stream.resume());
    }
  }

  #onTrailers(trailers: IncomingHttpHeaders): void {
    this.#grpcStatus = grpcStatusOf(trailers) ?? this.#grpcStatus;
    const relayed: Record<string, string> = {};
    for (const [name, value] of Object.entries(trailers)) {
      if (!name.startsWith(':') && value !== undefined) relayed[name] = Array.isArray(value) ? value.join(', ') : String(value);
    }
    this.#ctx.res.addTrailers(relayed);
  }

  #onEnd(): void {
    this.#ctx.res.end();
    const status = this.#grpcStatus === undefined ? this.#httpStatus : httpStatusOfGrpc(this.#grpcStatus);
    this.#finish({ status, errorKind: ErrorKind.none, latencyMs: this.#latency() }, undefined, undefined);
  }

  #onError(error: Error & { code?: string }): void {
    const { kind, spec } = classifyUpstreamError(error);
    this.#finish({ status: this.#httpStatus !== 0 ? this.#httpStatus : spec.status, errorKind: kind, latencyMs: this.#latency() }, spec, error);
  }

  #onClose(): void {
    // closed without 'end' or 'error': reset by the backend (RST_STREAM) or a session that went away
    if (this.#isDone) return;
    const error = Object.assign(new Error(`gRPC stream closed by the backend (code ${this.#stream?.rstCode ?? 'none'})`), { code: 'ECONNRESET' });
    this.#finish({ status: this.#httpStatus !== 0 ? this.#httpStatus : Errors.upstreamReset.status, errorKind: ErrorKind.reset, latencyMs: this.#latency() }, Errors.upstreamReset, error);
  }

  #finish(outcome: Outcome, error: ErrorSpec | undefined, cause: unknown): void {
    if (this.#isDone) return;
    this.#isDone = true;
    this.#metrics.grpcResponses.inc({ backend: this.#ctx.backend.id, grpc_status: String(this.#grpcStatus ?? 14) });
    this.#ctx.onDone(outcome, error, cause, this.#facts);
  }
}

export function forwardGrpc(ctx: AttemptContext, headers: string[], body: Readable | Buffer | null, metrics: Metrics): void {
  new GrpcAttempt(ctx, metrics).start(headers, body);
}
