// forward + classify for gRPC: HTTP/2 end to end (undici speaks HTTP/1.1 to the backends), one
// multiplexed node:http2 session per backend, trailers relayed, and the call's grpc-status
// mapped onto an HTTP status for the outcome, so that outlier detection, the error EWMAs,
// metrics and telemetry see a failed call as a failure even though its HTTP status was 200.
import type { IncomingMessage, OutgoingHttpHeaders } from 'node:http';
import { connect, constants, type ClientHttp2Session, type IncomingHttpHeaders } from 'node:http2';
import type { Readable } from 'node:stream';
import { Errors } from '../core/errors.ts';
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

export function forwardGrpc(ctx: AttemptContext, headers: string[], body: Readable | Buffer | null, metrics: Metrics): void {
  const { res, backend } = ctx;
  const facts: ResponseFacts = { bytesOut: 0, retryAfterSec: undefined, held: undefined };
  let isDone = false;
  let httpStatus = 0;
  let grpcStatus: number | undefined;
  const finish = (outcome: Outcome, error: typeof Errors[keyof typeof Errors] | undefined, cause: unknown): void => {
    if (isDone) return;
    isDone = true;
    metrics.grpcResponses.inc({ backend: backend.id, grpc_status: String(grpcStatus ?? 14) });
    ctx.onDone(outcome, error, cause, facts);
  };
  const latency = (): number => ctx.now() - ctx.startMs;

  let stream;
  try {
    stream = sessionFor(backend).request(upstreamHeaders(ctx.req, headers, backend.tls !== undefined), { endStream: body === null });
  } catch (error) {
    const { kind, spec } = classifyUpstreamError(error);
    return finish({ status: spec.status, errorKind: kind, latencyMs: latency() }, spec, error);
  }
  if (ctx.headersTimeoutMs !== undefined) stream.setTimeout(ctx.headersTimeoutMs, () => httpStatus === 0 && stream.close(constants.NGHTTP2_CANCEL));
  res.once('close', () => {
    if (res.writableFinished || isDone) return;
    // the client cancelled the call: cancel it at the backend too
    stream.close(constants.NGHTTP2_CANCEL);
    finish({ status: Errors.clientAborted.status, errorKind: ErrorKind.aborted, latencyMs: latency() }, Errors.clientAborted, undefined);
  });

  stream.on('response', (h: IncomingHttpHeaders, flags: number) => {
    httpStatus = Number(h[':status']);
    grpcStatus = grpcStatusOf(h);
    if (ctx.isDraining()) res.shouldKeepAlive = false;
    const out = clientHeaders(h, ctx);
    if ((flags & constants.NGHTTP2_FLAG_END_STREAM) !== 0 && grpcStatus !== undefined) {
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
    res.writeHead(httpStatus, out);
  });
  stream.on('data', (chunk: Buffer) => {
    facts.bytesOut += chunk.length;
    if (!res.write(chunk)) {
      stream.pause();
      res.once('drain', () => stream.resume());
    }
  });
  stream.on('trailers', (trailers: IncomingHttpHeaders) => {
    grpcStatus = grpcStatusOf(trailers) ?? grpcStatus;
    const relayed: Record<string, string> = {};
    for (const [name, value] of Object.entries(trailers)) if (!name.startsWith(':') && value !== undefined) relayed[name] = Array.isArray(value) ? value.join(', ') : String(value);
    res.addTrailers(relayed);
  });
  stream.once('end', () => {
    res.end();
    const status = grpcStatus === undefined ? httpStatus : httpStatusOfGrpc(grpcStatus);
    finish({ status, errorKind: ErrorKind.none, latencyMs: latency() }, undefined, undefined);
  });
  stream.once('error', (error: Error & { code?: string }) => {
    const { kind, spec } = classifyUpstreamError(error);
    finish({ status: httpStatus !== 0 ? httpStatus : spec.status, errorKind: kind, latencyMs: latency() }, spec, error);
  });
  stream.once('close', () => {
    // closed without 'end' or 'error': reset by the backend (RST_STREAM) or a session that went away
    if (isDone) return;
    const error = Object.assign(new Error(`gRPC stream closed by the backend (code ${stream.rstCode ?? 'none'})`), { code: 'ECONNRESET' });
    finish({ status: httpStatus !== 0 ? httpStatus : Errors.upstreamReset.status, errorKind: ErrorKind.reset, latencyMs: latency() }, Errors.upstreamReset, error);
  });

  if (Buffer.isBuffer(body)) stream.end(body);
  else if (body !== null) body.pipe(stream);
}
