// accept: the HTTP/1.1 listener. Node's strict parser (llhttp) rejects ambiguous framing
// (Content-Length with Transfer-Encoding, differing duplicate Content-Length, bad chunk sizes,
// bare LF); those and every other pre-request failure are answered here with the catalogue's status.
import { listenOn } from './listen.ts';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { Errors, type ErrorSpec } from '../core/errors.ts';
import type { Metrics } from '../metrics/catalogue.ts';
import type { Runtime } from '../runtime/runtime.ts';
import type { ProxySettings } from '../runtime/settings.ts';
import type { ServerFactory } from './listener.ts';
import { ConnectionsPerIp } from '../protect/connections-per-ip.ts';
import { requestIdFrom } from './request-id.ts';
import { sendError, sendRawError } from './respond.ts';
import type { FailureBoundary } from './failure-boundary.ts';

/** A handler may return a promise: its rejection is contained like a synchronous throw. */
type Handler = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;
type UpgradeHandler = (req: IncomingMessage, socket: Socket, head: Buffer) => void;

function clientErrorSpec(code: string | undefined): { spec: ErrorSpec; limit: string } {
  switch (code) {
    case 'HPE_HEADER_OVERFLOW':
      return { spec: Errors.headersTooLarge, limit: 'header_size' };
    case 'ERR_HTTP_REQUEST_TIMEOUT':
    case 'ERR_HTTP_HEADERS_TIMEOUT':
      return { spec: Errors.requestTimeout, limit: 'client_timeout' };
    default:
      return { spec: Errors.badRequest, limit: 'bad_request' };
  }
}

export class ProxyServer {
  readonly #server: Server;
  readonly #metrics: Metrics;
  readonly #runtime: Runtime;
  #openConnections = 0;
  readonly #perIp = new ConnectionsPerIp();
  #isDraining = false;
  readonly #boundary: FailureBoundary;

  constructor(deps: { runtime: Runtime; metrics: Metrics; boundary: FailureBoundary; handler: Handler; upgrade: UpgradeHandler; createServer?: ServerFactory }) {
    this.#metrics = deps.metrics;
    this.#runtime = deps.runtime;
    this.#boundary = deps.boundary;
    const s = deps.runtime.current.settings;
    const handler = deps.handler;
    // HTTPS, HTTP/2 and h2c listeners come from the factory (listener.ts); same options, same handler
    this.#server = (deps.createServer ?? createServer)({
      maxHeaderSize: s.maxHeaderBytes,
      // Node's own Host check answers without Sibyl's error body: admission.ts checks Host instead
      requireHostHeader: false,
      joinDuplicateHeaders: false,
      // only WebSocket upgrades are tunnelled; any other Upgrade (h2c) is ignored and served as
      // HTTP/1.1 (RFC 9110 7.8), its Upgrade header dropped as hop-by-hop
      shouldUpgradeCallback: (req) => req.headers.upgrade?.toLowerCase() === 'websocket',
      // Node enforces headersTimeout/requestTimeout only when it sweeps its connections (default
      // every 30 s): sweep often enough that client_header_timeout holds (fixed at start).
      connectionsCheckingInterval: Math.max(10, Math.min(1000, Math.floor(Math.min(s.clientHeaderTimeoutMs, s.clientRequestTimeoutMs) / 4))),
    }, (req, res) => {
      // during drain every response says Connection: close so keep-alive clients move on
      if (this.#isDraining) res.shouldKeepAlive = false;
      this.#handle(handler, req, res);
    });
    this.applySettings(s);
    this.#server.on('connection', (socket: Socket) => {
      if (!this.#admitPerIp(socket)) return;
      // Node arms the socket timeout only with keep_alive_timeout, between requests
      socket.on('timeout', () => this.#metrics.idleTimeouts.inc());
      this.#openConnections++;
      this.#metrics.connections.set(this.#openConnections);
      socket.once('close', () => {
        this.#openConnections--;
        this.#metrics.connections.set(this.#openConnections);
      });
    });
    // beyond max_connections Node refuses the socket at accept; 'drop' lets us count it
    this.#server.on('drop', () => this.#metrics.connectionsRejected.inc());
    this.#server.on('clientError', (err: Error & { code?: string }, socket: Socket) => {
      try {
        this.#onClientError(err, socket);
      } catch (bug) {
        this.#boundary.containSocket('client_error', bug, socket, undefined);
      }
    });
    this.#server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
      try {
        deps.upgrade(req, socket, head);
      } catch (err) {
        this.#boundary.containSocket('upgrade', err, socket, undefined);
      }
    });
    this.#server.on('connect', (req: IncomingMessage, socket: Socket) => {
      try {
        this.#onConnect(req, socket);
      } catch (err) {
        this.#boundary.containSocket('connect', err, socket, undefined);
      }
    });
  }

  /** The request-scoped failure boundary around the whole handler (failure-boundary.ts). */
  #handle(handler: Handler, req: IncomingMessage, res: ServerResponse): void {
    try {
      const done = handler(req, res);
      if (done instanceof Promise) done.catch((err: unknown) => this.#boundary.contain('handler', err, res, this.#requestIdOf(req)));
    } catch (err) {
      this.#boundary.contain('handler', err, res, this.#requestIdOf(req));
    }
  }

  /** The pipeline contains its phases with the request's own id; this outer boundary knows the client's at best. */
  #requestIdOf(req: IncomingMessage): string {
    return requestIdFrom(req.headers[this.#runtime.current.settings.requestIdHeader]);
  }

  #onConnect(req: IncomingMessage, socket: Socket): void {
    this.#metrics.limitRejections.inc({ limit: 'not_a_proxy' });
    const settings = this.#runtime.current.settings;
    const requestId = requestIdFrom(req.headers[settings.requestIdHeader]);
    // an HTTP/2 CONNECT (listener.ts) comes with its stream's response, not a socket
    if (req.httpVersionMajor === 2) return sendError(socket as unknown as ServerResponse, Errors.forbiddenProxy, requestId, settings.requestIdHeader);
    sendRawError(socket, Errors.forbiddenProxy, requestId, settings.requestIdHeader);
  }

  get openConnections(): number {
    return this.#openConnections;
  }

  get isDraining(): boolean {
    return this.#isDraining;
  }

  /** Timeouts and limits that Node lets us change on a live server (header size needs a restart). */
  applySettings(s: ProxySettings): void {
    this.#server.maxConnections = s.maxConnections;
    this.#server.headersTimeout = s.clientHeaderTimeoutMs;
    this.#server.requestTimeout = s.clientRequestTimeoutMs;
    this.#server.keepAliveTimeout = s.keepAliveTimeoutMs;
  }

  /**
   * A connection accepted by the cluster's primary and handed to this worker (cluster-primary.ts).
   * max_connections is checked here, as Node checks it for the connections it accepts itself.
   */
  adopt(socket: Socket): void {
    if (this.#isDraining || this.#openConnections >= this.#runtime.current.settings.maxConnections) {
      if (!this.#isDraining) this.#metrics.connectionsRejected.inc();
      socket.destroy();
      return;
    }
    this.#server.emit('connection', socket);
    socket.resume();
  }

  listen(host: string, port: number): Promise<{ host: string; port: number }> {
    return listenOn(this.#server, host, port);
  }

  /**
   * Graceful drain: stop accepting, close idle keep-alive connections, let in-flight requests
   * finish; after timeoutMs, cut what remains. Resolves when the listener is closed and no
   * connection is left (adopted connections are not the listener's, so both are waited for).
   */
  drain(timeoutMs: number): Promise<{ isClean: boolean }> {
    this.#isDraining = true;
    return new Promise((resolve) => {
      let isClean = true;
      let isClosed = false;
      const timer = setTimeout(() => {
        isClean = false;
        this.#server.closeAllConnections();
      }, timeoutMs);
      const finishIfDone = (): void => {
        if (!isClosed || this.#openConnections > 0) return;
        clearTimeout(timer);
        clearInterval(idleSweep);
        resolve({ isClean });
      };
      const idleSweep = setInterval(() => {
        this.#server.closeIdleConnections();
        finishIfDone();
      }, 100);
      this.#server.close(() => {
        isClosed = true;
        finishIfDone();
      });
      this.#server.closeIdleConnections();
    });
  }

  /** max_connections_per_ip: a connection beyond it is closed at once, as max_connections does. */
  #admitPerIp(socket: Socket): boolean {
    const max = this.#runtime.current.settings.maxConnectionsPerIp;
    if (max === 0) return true;
    const ip = socket.remoteAddress ?? '';
    if (!this.#perIp.tryOpen(ip, max)) {
      this.#metrics.connectionsPerIpRejected.inc();
      socket.destroy();
      return false;
    }
    socket.once('close', () => this.#perIp.close(ip));
    return true;
  }

  #onClientError(err: Error & { code?: string }, socket: Socket): void {
    if (err.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    const { spec, limit } = clientErrorSpec(err.code);
    this.#metrics.limitRejections.inc({ limit });
    const settings = this.#runtime.current.settings;
    sendRawError(socket, spec, requestIdFrom(undefined), settings.requestIdHeader);
  }
}
