// The client listener for each protocol setup, all feeding the one pipeline handler:
// HTTP/1.1 (node:http), HTTPS (node:https), HTTP/2 + HTTP/1.1 by ALPN on one TLS port
// (node:http2 with allowHTTP1, requests through its compatibility API), and opt-in cleartext h2c
// beside HTTP/1.1 on one port (the connection preface picks the protocol).
import { createServer as createHttpServer, Server as HttpServer, type IncomingMessage, type Server, type ServerOptions, type ServerResponse } from 'node:http';
import { createSecureServer, createServer as createH2cServer, Http2ServerResponse, type Http2Session, type Http2ServerRequest, type OutgoingHttpHeaders, type ServerHttp2Session } from 'node:http2';
import { createServer as createHttpsServer } from 'node:https';
import type { Socket } from 'node:net';
import { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { Errors } from '../core/errors.ts';
import type { Logger } from '../log/logger.ts';
import type { Metrics } from '../metrics/catalogue.ts';
import { headerListBytes, http2ServerOptions, Http2Guard, type Http2Limits } from './http2-guard.ts';
import { requestIdFrom } from './request-id.ts';
import { sendError } from './respond.ts';
import { CertificateStore, type TlsListenerOptions } from './tls-certificates.ts';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;
export type ServerFactory = (options: ServerOptions, handler: Handler) => Server;

export interface ListenerOptions {
  /** Undefined: cleartext. */
  readonly tls: TlsListenerOptions | undefined;
  /** With TLS: offer h2 by ALPN. */
  readonly isHttp2Enabled: boolean;
  /** Without TLS: accept h2 with prior knowledge. */
  readonly isH2cEnabled: boolean;
  /** With h2c: how long a new connection may take to show which protocol it speaks. */
  readonly prefaceTimeoutMs: number;
  readonly http2: Http2Limits;
}

export interface ListenerDeps {
  readonly metrics: Metrics;
  readonly logger: Logger;
  readonly requestIdHeader: () => string;
}

const H2_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n');

/** HTTP/2 has no reason phrase: the one forward.ts passes along is dropped instead of warned about. */
class ProxyHttp2Response extends Http2ServerResponse {
  override writeHead(status: number, reason?: unknown, headers?: unknown): this {
    return super.writeHead(status, (typeof reason === 'string' ? headers : reason) as OutgoingHttpHeaders);
  }
}

/** What the compatibility API does not do for a proxy: Host from :authority, a body without Content-Length. */
function normaliseHttp2Request(req: Http2ServerRequest): void {
  const headers = req.headers;
  if (headers.host === undefined && headers[':authority'] !== undefined) headers.host = headers[':authority'];
  // an h2 body is framed by DATA frames; mark it as HTTP/1.1 would so that the pipeline streams it
  if (headers['content-length'] === undefined && !req.stream.endAfterHeaders) headers['transfer-encoding'] = 'chunked';
}

export class ProtocolListener {
  readonly #options: ListenerOptions;
  readonly #deps: ListenerDeps;
  readonly #certificates: CertificateStore | undefined;
  readonly #guard: Http2Guard;
  /** Strict-Transport-Security of the TLS listener (follows reloads); undefined: none. */
  #hsts: string | undefined;

  constructor(options: ListenerOptions, deps: ListenerDeps) {
    this.#options = options;
    this.#deps = deps;
    this.#certificates = options.tls === undefined ? undefined : new CertificateStore(options.tls, deps);
    this.#guard = new Http2Guard(options.http2, deps.metrics);
    this.#hsts = options.tls?.hsts;
  }

  /** Loads the certificates (before the server is created). */
  async prepare(): Promise<void> {
    await this.#certificates?.load();
  }

  /** A reloaded config: certificate files and HTTP/2 limits change live; the protocol set needs a restart. */
  apply(options: ListenerOptions): void {
    if (options.tls !== undefined) this.#certificates?.apply(options.tls);
    this.#hsts = options.tls?.hsts;
    this.#guard.apply(options.http2);
    const was = this.#options;
    if ((options.tls === undefined) !== (was.tls === undefined) || options.isHttp2Enabled !== was.isHttp2Enabled || options.isH2cEnabled !== was.isH2cEnabled) {
      this.#deps.logger.warn({ tls: options.tls !== undefined, http2: options.isHttp2Enabled, allowH2c: options.isH2cEnabled }, 'the listener\'s protocols ([tls] enabled, [http2] enabled, allow_h2c) changed: they take effect at the next restart');
    }
  }

  stop(): void {
    this.#certificates?.stop();
  }

  readonly createServer: ServerFactory = (httpOptions, handler) => {
    const o = this.#options;
    if (o.tls !== undefined && o.isHttp2Enabled) return this.#createHttp2Secure(httpOptions, handler);
    if (o.tls !== undefined) return this.#createHttps(httpOptions, handler);
    const server = createHttpServer(httpOptions, this.#counting(handler, 'http1'));
    if (o.isH2cEnabled) this.#addH2c(server, handler);
    return server;
  };

  #counting(handler: Handler, protocol: string): Handler {
    const counter = this.#deps.metrics.protocolRequests.labels({ protocol });
    return (req, res) => {
      counter.inc();
      handler(req, res);
    };
  }

  /** The TLS listener's responses carry Strict-Transport-Security when configured (a backend's own wins). */
  #withHsts<Req, Res extends { setHeader(name: string, value: string): unknown }>(handler: (req: Req, res: Res) => void): (req: Req, res: Res) => void {
    return (req, res) => {
      const hsts = this.#hsts;
      if (hsts !== undefined) res.setHeader('strict-transport-security', hsts);
      handler(req, res);
    };
  }

  /** Adapts an HTTP/2 compat request for the pipeline, refusing a header list above the limit. */
  #http2Handler(handler: Handler, protocol: string): (req: Http2ServerRequest, res: Http2ServerResponse) => void {
    const metrics = this.#deps.metrics;
    const counter = metrics.protocolRequests.labels({ protocol });
    return (req, res) => {
      counter.inc();
      if (headerListBytes(req.rawHeaders) > this.#guard.limits.maxHeaderListBytes) {
        metrics.http2Abuse.inc({ kind: 'header_list_too_large' });
        metrics.limitRejections.inc({ limit: 'header_size' });
        const requestIdHeader = this.#deps.requestIdHeader();
        return sendError(res as unknown as ServerResponse, Errors.headersTooLarge, requestIdFrom(req.headers[requestIdHeader]), requestIdHeader);
      }
      normaliseHttp2Request(req);
      handler(req as unknown as IncomingMessage, res as unknown as ServerResponse);
    };
  }

  #createHttps(httpOptions: ServerOptions, handler: Handler): Server {
    const certificates = this.#certificates as CertificateStore;
    const server = createHttpsServer({ ...httpOptions, ...certificates.serverOptions(), ALPNProtocols: ['http/1.1'] }, this.#withHsts(this.#counting(handler, 'https1')));
    certificates.attach(server);
    return server as unknown as Server;
  }

  #createHttp2Secure(httpOptions: ServerOptions, handler: Handler): Server {
    const certificates = this.#certificates as CertificateStore;
    const h1 = this.#withHsts(this.#counting(handler, 'https1'));
    const h2 = this.#withHsts(this.#http2Handler(handler, 'h2'));
    const server = createSecureServer(
      { ...httpOptions, ...certificates.serverOptions(), ...http2ServerOptions(this.#options.http2), Http2ServerResponse: ProxyHttp2Response, allowHTTP1: true },
      (req, res) => (req.httpVersionMajor === 2 ? h2(req, res) : h1(req as unknown as IncomingMessage, res as unknown as ServerResponse)),
    );
    // Node re-emits a failed handshake as 'clientError', which would answer in plaintext: just close
    server.removeAllListeners('tlsClientError');
    server.on('tlsClientError', (_err: Error, socket: TLSSocket) => socket.destroy());
    certificates.attach(server);
    this.#guard.attach(server);
    // allowHTTP1 upgrades whenever an 'upgrade' listener exists; keep the HTTP/1.1 listener's rule
    const upgradeRule = httpOptions.shouldUpgradeCallback;
    if (upgradeRule !== undefined) Object.assign(server, { shouldUpgradeCallback: upgradeRule });
    const guard = this.#guard;
    const http1 = server as unknown as Server;
    const closeIdle = http1.closeIdleConnections.bind(http1);
    // the drain's helpers also reach the HTTP/2 sessions: GOAWAY when idle-closing, cut when forced
    Object.assign(server, {
      closeIdleConnections() {
        closeIdle();
        guard.closeGracefully();
      },
      closeAllConnections() {
        HttpServer.prototype.closeAllConnections.call(http1);
        guard.destroyAll();
      },
    });
    return http1;
  }

  /**
   * h2c beside HTTP/1.1: a connection that starts with the HTTP/2 preface goes to an HTTP/2 session,
   * any other to the HTTP/1.1 server. Node's HTTP/2 session reads the socket natively and would miss
   * the bytes read to sniff, so it gets them through a small JS stream.
   */
  #addH2c(server: Server, handler: Handler): void {
    const peers = new WeakMap<Http2Session, { remoteAddress: string | undefined; remotePort: number | undefined }>();
    const h2Handler = this.#http2Handler(handler, 'h2c');
    const h2 = createH2cServer({ ...http2ServerOptions(this.#options.http2), Http2ServerResponse: ProxyHttp2Response }, (req, res) => {
      // the wrapped stream has no peer address: the request sees the real socket's
      const peer = req.stream.session === undefined ? undefined : peers.get(req.stream.session);
      if (peer !== undefined) Object.defineProperty(req, 'socket', { value: { ...peer, encrypted: false } });
      h2Handler(req, res);
    });
    this.#guard.attach(h2);
    // an h2c CONNECT is refused as every CONNECT is, by the listener's own handler (server.ts)
    h2.on('connect', (req: Http2ServerRequest, res: Http2ServerResponse) => server.emit('connect', req, res));
    let pendingPeer: { remoteAddress: string | undefined; remotePort: number | undefined } | undefined;
    h2.on('session', (session: ServerHttp2Session) => {
      if (pendingPeer !== undefined) peers.set(session, pendingPeer);
    });
    const [http1Listener] = server.listeners('connection') as ((socket: Socket) => void)[];
    if (http1Listener === undefined) throw new Error('node:http server without its connection listener');
    server.removeListener('connection', http1Listener);
    const prefaceTimeoutMs = this.#options.prefaceTimeoutMs;
    server.prependListener('connection', (socket: Socket) => {
      let seen: Buffer = Buffer.alloc(0);
      // a client that sends nothing (or half a preface) is not yet any server's: cut it here
      const timer = setTimeout(() => socket.destroy(), prefaceTimeoutMs);
      socket.once('close', () => clearTimeout(timer));
      const onData = (chunk: Buffer): void => {
        seen = seen.length === 0 ? chunk : Buffer.concat([seen, chunk]);
        const n = Math.min(seen.length, H2_PREFACE.length);
        const isPrefix = seen.subarray(0, n).equals(H2_PREFACE.subarray(0, n));
        if (isPrefix && seen.length < H2_PREFACE.length) return;
        clearTimeout(timer);
        socket.off('data', onData);
        socket.pause();
        if (isPrefix) {
          pendingPeer = { remoteAddress: socket.remoteAddress, remotePort: socket.remotePort };
          h2.emit('connection', wrapSocket(socket, seen));
          pendingPeer = undefined;
          return;
        }
        socket.unshift(seen);
        http1Listener.call(server, socket);
        socket.resume();
      };
      socket.on('data', onData);
    });
    const guard = this.#guard;
    const closeIdle = server.closeIdleConnections.bind(server);
    const closeAll = server.closeAllConnections.bind(server);
    Object.assign(server, {
      closeIdleConnections() {
        closeIdle();
        guard.closeGracefully();
      },
      closeAllConnections() {
        closeAll();
        guard.destroyAll();
      },
    });
  }
}

/** A JS duplex over a socket whose first bytes were already read. */
function wrapSocket(socket: Socket, first: Buffer): Duplex {
  const duplex = new Duplex({
    read() {
      socket.resume();
    },
    write(chunk: Buffer, _encoding, callback) {
      socket.write(chunk, callback);
    },
    final(callback) {
      socket.end();
      callback();
    },
    destroy(err, callback) {
      socket.destroy(err ?? undefined);
      callback(err);
    },
  });
  duplex.push(first);
  socket.on('data', (chunk: Buffer) => {
    if (!duplex.push(chunk)) socket.pause();
  });
  socket.once('end', () => duplex.push(null));
  socket.once('error', (err) => duplex.destroy(err));
  socket.once('close', () => duplex.destroy());
  return duplex;
}
