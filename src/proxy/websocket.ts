// WebSocket (HTTP/1.1 Upgrade) pass-through. An upgrade takes the HTTP request's phases up to the
// pick (accept checks, rate limits, route/split to a pool, pick with capacity or queue/shed), then
// replays the handshake on a raw TCP connection and splices the two sockets. Sibyl does not parse
// frames.
//
// Concurrency: the handshake holds a slot of the backend's concurrency limiter, like a request,
// from the pick until the backend starts answering (or fails); the open WebSocket then gives it
// back. The adaptive limit is learned from request latencies, and a WebSocket lives for minutes or
// hours while mostly idle: holding a slot for its lifetime would starve HTTP requests and stall the
// limit's rounds. The open WebSocket stays counted in the backend's in-flight count (what
// least_connections balances on) and its client connection in `max_connections`.
import type { IncomingMessage } from 'node:http';
import { connect, type Socket } from 'node:net';
import { connect as connectTls } from 'node:tls';
import type { Duplex } from 'node:stream';
import { Errors, type ErrorSpec } from '../core/errors.ts';
import { ErrorKind } from '../core/outcome.ts';
import type { Metrics } from '../metrics/catalogue.ts';
import type { Backend } from '../runtime/backend.ts';
import type { Pool } from '../runtime/pool.ts';
import type { Runtime } from '../runtime/runtime.ts';
import type { ProxySettings } from '../runtime/settings.ts';
import { tlsConnectOptions } from '../runtime/upstream-tls.ts';
import { checkRequest } from './admission.ts';
import { upstreamRequestHeaders } from './headers.ts';
import { clientIpOf, hashKeyOf, limitLabelOf, pickFor } from './pipeline.ts';
import { requestIdFrom } from './request-id.ts';
import { sendRawError } from './respond.ts';

export interface UpgradeDeps {
  readonly runtime: Runtime;
  readonly metrics: Metrics;
  readonly now: () => number;
}

/** The `result` label of sibyl_proxy_websocket_upgrades_total. */
type UpgradeResult = 'ok' | 'error' | 'timeout' | 'limited' | 'shed';

/** One upgrade request, from accept to the spliced sockets. */
interface Upgrade {
  readonly req: IncomingMessage;
  readonly socket: Socket;
  readonly head: Buffer;
  readonly s: ProxySettings;
  readonly requestId: string;
  readonly clientIp: string;
  readonly pool: Pool;
  readonly hashKey: string;
}

export function createUpgradeHandler(deps: UpgradeDeps) {
  const { runtime, metrics, now } = deps;

  const fail = (socket: Socket, s: ProxySettings, requestId: string, spec: ErrorSpec, result: UpgradeResult, headers?: Readonly<Record<string, string>>): void => {
    metrics.websocketUpgrades.inc({ result });
    sendRawError(socket, spec, requestId, s.requestIdHeader, headers);
  };

  const paced = (u: Upgrade, spec: ErrorSpec, result: UpgradeResult): void => {
    // pacing, as for HTTP: Sibyl's own 503s say when to come back
    const retryAfter = runtime.retryAfterSeconds(spec === Errors.shed ? 'shed' : 'no_backend');
    metrics.paced.inc();
    fail(u.socket, u.s, u.requestId, spec, result, { 'retry-after': String(retryAfter) });
  };

  /** The handshake got its answer (or failed): its concurrency slot goes back, waiters may start. */
  const releaseSlot = (backend: Backend): void => {
    if (backend.limiter === undefined) return;
    backend.limiter.cancel();
    runtime.admission.pump();
  };

  /** forward: replay the handshake to the backend, bounded by the connect and response-header timeouts. */
  function tunnel(u: Upgrade, backend: Backend): void {
    const { req, socket, s, requestId } = u;
    const headers = upstreamRequestHeaders(req.rawHeaders, req.headers.connection, { clientIp: u.clientIp, proto: (req.socket as { encrypted?: boolean }).encrypted === true ? 'https' : 'http', requestIdHeader: s.requestIdHeader, requestId, via: undefined, isUpgrade: true });
    let lines = `${req.method} ${req.url} HTTP/1.1\r\n`;
    for (let i = 0; i < headers.length; i += 2) lines += `${headers[i]}: ${headers[i + 1]}\r\n`;
    // [upstream_tls]: the handshake is replayed over TLS to the backend
    const tls = backend.tls;
    const upstream = tls === undefined ? connect({ host: backend.host, port: backend.port }) : connectTls({ host: backend.host, port: backend.port, ...tlsConnectOptions(tls, backend.host) });
    backend.inFlight++;
    let isAnswered = false;
    let isSlotHeld = true;
    const giveSlotBack = (): void => {
      if (!isSlotHeld) return;
      isSlotHeld = false;
      releaseSlot(backend);
    };
    const failHandshake = (spec: ErrorSpec, errorKind: ErrorKind, result: UpgradeResult): void => {
      clearTimeout(timer);
      giveSlotBack();
      metrics.upstreamErrors.inc({ backend: backend.id, error_kind: errorKind });
      upstream.destroy();
      fail(socket, s, requestId, spec, result);
    };
    let timer = setTimeout(() => failHandshake(Errors.upstreamConnectTimeout, ErrorKind.connectTimeout, 'timeout'), backend.connectTimeoutMs);
    upstream.once(tls === undefined ? 'connect' : 'secureConnect', () => {
      clearTimeout(timer);
      // a backend that accepts the connection but never answers the handshake: as HTTP's 504
      timer = setTimeout(() => failHandshake(Errors.upstreamTimeout, ErrorKind.timeout, 'timeout'), backend.headersTimeoutMs);
      upstream.write(`${lines}\r\n`);
      if (u.head.length > 0) upstream.write(u.head);
      socket.pipe(upstream);
    });
    upstream.once('data', (first: Buffer) => {
      clearTimeout(timer);
      isAnswered = true;
      giveSlotBack();
      metrics.websocketUpgrades.inc({ result: 'ok' });
      upstream.pause();
      socket.write(first);
      upstream.pipe(socket);
    });
    upstream.once('error', (error: NodeJS.ErrnoException) => {
      if (isAnswered || socket.destroyed) return socket.destroy();
      failHandshake(Errors.upstreamConnect, error.code === 'ECONNREFUSED' ? ErrorKind.refused : ErrorKind.reset, 'error');
    });
    upstream.once('close', () => {
      clearTimeout(timer);
      giveSlotBack();
      backend.inFlight--;
      // before an answer, failHandshake (or the error above) has answered the client already
      if (isAnswered) socket.destroy();
      else if (!socket.destroyed && !socket.writableEnded) fail(socket, s, requestId, Errors.upstreamReset, 'error');
    });
    socket.once('close', () => upstream.destroy());
  }

  /** Every eligible backend is at its concurrency limit: wait in Sibyl's queue, or be shed. */
  function queue(u: Upgrade): void {
    let isStarted = false;
    const cancel = runtime.admission.enqueue(
      {
        tryStart() {
          const backend = pickFor(u.pool, u.hashKey, undefined);
          if (backend === undefined) return false;
          isStarted = true;
          tunnel(u, backend);
          return true;
        },
        onExpired() {
          metrics.shed.inc({ reason: 'deadline' });
          paced(u, Errors.shed, 'shed');
        },
      },
      runtime.queueDeadlineMs(),
    );
    if (cancel === undefined) {
      metrics.shed.inc({ reason: 'queue_full' });
      return paced(u, Errors.shed, 'shed');
    }
    u.socket.once('close', () => {
      if (isStarted) return;
      cancel();
      metrics.queueAbandoned.inc();
    });
  }

  return function handleUpgrade(req: IncomingMessage, clientSocket: Duplex, head: Buffer): void {
    const startMs = now();
    const generation = runtime.current;
    const s = generation.settings;
    const requestId = requestIdFrom(req.headers[s.requestIdHeader]);
    const socket = clientSocket as Socket;
    // the client may reset at any phase; the close handlers clean up
    socket.on('error', () => socket.destroy());
    if (req.headers.upgrade?.toLowerCase() !== 'websocket') return fail(socket, s, requestId, Errors.badRequest, 'error');
    // accept -> admit, as for HTTP requests
    const admissionError = checkRequest(req, s);
    if (admissionError !== undefined) {
      const label = limitLabelOf(admissionError);
      if (label !== undefined) metrics.limitRejections.inc({ limit: label });
      return fail(socket, s, requestId, admissionError, 'error');
    }
    const clientIp = clientIpOf(req);
    const limited = runtime.rateLimits.check(req.url ?? '', clientIp, req.headers, undefined, startMs);
    if (limited !== undefined) return fail(socket, s, requestId, limited.spec, 'limited', limited.headers);
    // route -> split -> pick (or queue, or shed)
    const { pool } = runtime.delivery.traffic.choose(generation, req, clientIp);
    const u: Upgrade = { req, socket, head, s, requestId, clientIp, pool, hashKey: hashKeyOf(pool, req, clientIp) };
    const backend = pickFor(pool, u.hashKey, undefined);
    if (backend !== undefined) return tunnel(u, backend);
    if (pool.eligibleSet.eligible.length === 0 || s.shedding === undefined) {
      metrics.noBackend.inc();
      return paced(u, Errors.noBackend, 'error');
    }
    queue(u);
  };
}
