// accept for the TCP (L4) mode ([proxy] kind = "tcp"): each client connection reads the runtime's
// generation once, gets a backend (connect-upstream.ts) and is spliced to it byte for byte. There
// are no requests here, so no retries, telemetry or retry prediction: only connection-level
// balancing, health, outlier ejection on connect failures, limits and graceful drain.
import { listenOn } from '../listen.ts';
import { createServer, type Server, type Socket } from 'node:net';
import type { Logger } from '../../log/logger.ts';
import type { Metrics } from '../../metrics/catalogue.ts';
import type { Runtime } from '../../runtime/runtime.ts';
import type { ProxySettings } from '../../runtime/settings.ts';
import { connectUpstream } from './connect-upstream.ts';
import { splice } from './splice.ts';

export class TcpProxyServer {
  readonly #server: Server;
  readonly #runtime: Runtime;
  readonly #metrics: Metrics;
  readonly #logger: Logger;
  readonly #sockets = new Set<Socket>();
  #isDraining = false;

  constructor(deps: { runtime: Runtime; metrics: Metrics; logger: Logger }) {
    this.#runtime = deps.runtime;
    this.#metrics = deps.metrics;
    this.#logger = deps.logger;
    this.#server = createServer({ allowHalfOpen: true, pauseOnConnect: true, noDelay: true }, (socket) => void this.#serve(socket));
    // beyond max_connections Node refuses the socket at accept; 'drop' lets us count it
    this.#server.on('drop', () => this.#metrics.connectionsRejected.inc());
    this.applySettings(deps.runtime.current.settings);
  }

  get openConnections(): number {
    return this.#sockets.size;
  }

  get isDraining(): boolean {
    return this.#isDraining;
  }

  applySettings(s: ProxySettings): void {
    this.#server.maxConnections = s.maxConnections;
  }

  listen(host: string, port: number): Promise<{ host: string; port: number }> {
    return listenOn(this.#server, host, port);
  }

  /**
   * Graceful drain: stop accepting; open connections go on until their peers close them; after
   * timeoutMs the rest are cut. A byte stream has no request boundary where it could be closed
   * politely, so this is all an L4 proxy can do (HAProxy's hard-stop-after works the same way).
   */
  drain(timeoutMs: number): Promise<{ isClean: boolean }> {
    this.#isDraining = true;
    return new Promise((resolve) => {
      let isClean = true;
      const timer = setTimeout(() => {
        isClean = false;
        this.#logger.warn({ open: this.#sockets.size }, 'drain timeout: cutting the TCP connections still open');
        for (const s of this.#sockets) s.destroy();
      }, timeoutMs);
      this.#server.close(() => {
        clearTimeout(timer);
        resolve({ isClean });
      });
    });
  }

  async #serve(client: Socket): Promise<void> {
    const acceptedMs = performance.now();
    this.#track(client);
    const generation = this.#runtime.current;
    const gone = new AbortController();
    const onGone = (): void => gone.abort();
    client.once('close', onGone);
    client.on('error', onGone);
    const result = await connectUpstream(generation, client.remoteAddress ?? '', gone.signal, {
      now: () => performance.now(),
      record: (backend, errorKind, latencyMs) => this.#runtime.recordOutcome(backend, { status: 0, errorKind, latencyMs }),
      onConnectFailure: (backend, errorKind) => {
        this.#metrics.tcpConnectFailures.inc({ backend: backend.id, error_kind: errorKind });
        this.#logger.warn({ backend: backend.id, errorKind }, 'tcp: connect to backend failed');
      },
    });
    client.off('close', onGone);
    client.off('error', onGone);
    if (!result.ok) {
      if (result.reason !== 'client_gone') this.#metrics.tcpUnserved.inc({ reason: result.reason });
      client.destroy();
      return;
    }
    const { backend, upstream } = result;
    if (gone.signal.aborted || client.destroyed) {
      // the client left while the backend accepted: its 'close' has fired, splice would wait forever
      upstream.destroy();
      backend.inFlight--;
      return;
    }
    this.#metrics.tcpConnections.inc({ backend: backend.id });
    client.resume();
    const done = await splice(client, upstream, generation.settings.tcp.idleTimeoutMs);
    backend.inFlight--;
    const labels = { backend: backend.id };
    this.#metrics.tcpBytes.inc({ ...labels, direction: 'in' }, done.bytesIn);
    this.#metrics.tcpBytes.inc({ ...labels, direction: 'out' }, done.bytesOut);
    this.#metrics.tcpDuration.observe(labels, (performance.now() - acceptedMs) / 1000);
  }

  /** Client connections only: cutting one at the drain timeout ends its backend side too (splice). */
  #track(client: Socket): void {
    this.#sockets.add(client);
    this.#metrics.connections.set(this.#sockets.size);
    client.once('close', () => {
      this.#sockets.delete(client);
      this.#metrics.connections.set(this.#sockets.size);
    });
  }
}
