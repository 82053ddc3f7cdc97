// The primary of `sibyl serve --workers N`: accepts the proxy's connections and hands each to a
// worker chosen by its client IP, so that a client's retries meet the attempts they retry in one
// worker's labeller (node:cluster's round-robin would scatter them); forks N workers and restarts
// a worker that dies; serves the admin
// listener for all of them (one /metrics summed over the workers; readiness of all; commands and
// reloads sent to every worker; other views from the first worker), holds the state the workers
// share (rate limits, retry model), relays worker 0's active health checks to the others,
// forwards SIGHUP, and on SIGTERM drains every worker.
import cluster, { type Worker } from 'node:cluster';
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTcpServer, type Server as TcpServer, type Socket } from 'node:net';
import { fnv1a32 } from '../core/hash.ts';
import { Errors } from '../core/errors.ts';
import { ANY_HOST_PATHS, createAdminGuard, type AdminGuard } from '../admin/admin-guard.ts';
import { sendProblem } from '../admin/http-util.ts';
import { parseHostPort } from '../core/address.ts';
import type { Config } from '../config/schema.ts';
import { createLogger, type Logger } from '../log/logger.ts';
import { aggregateMetrics } from './cluster-metrics.ts';
import { systemClock } from '../core/clock.ts';
import { answerSharedRequest, type SharedRequest } from '../shared/ipc-shared-state.ts';
import { createMemorySharedState } from '../shared/memory-shared-state.ts';
import type { FromWorker, ToWorker } from './cluster-worker.ts';

const READY_TIMEOUT_MS = 60_000;
const METRICS_TIMEOUT_MS = 5000;
const MAX_ADMIN_BODY_BYTES = 1_048_576;
/** Sent to every worker: a command or a reload must reach them all. */
const TO_ALL = /^\/api\/(reload|backends\/[^/]+\/(drain|undrain|weight))$/;

interface Slot {
  worker: Worker;
  adminPort: number | undefined;
  isReady: boolean;
}

interface Answer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: Buffer;
}

/**
 * To a worker's private admin listener. The primary checked Host and Origin against its own listener;
 * the worker sees a request to itself (its own Host, no Origin) and checks the token.
 */
function forward(port: number, req: IncomingMessage, body: Buffer): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const { origin: _origin, ...rest } = req.headers;
    const headers = { ...rest, host: `127.0.0.1:${port}`, connection: 'close' };
    const upstream = httpRequest({ host: '127.0.0.1', port, method: req.method, path: req.url, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 502, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    upstream.on('error', reject);
    upstream.end(body);
  });
}

function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_ADMIN_BODY_BYTES) return resolve(undefined);
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', () => resolve(undefined));
  });
}

function sendJson(res: ServerResponse, status: number, value: unknown): void {
  const body = JSON.stringify(value);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' });
  res.end(body);
}

export class ClusterPrimary {
  readonly #config: Config;
  readonly #logger: Logger;
  readonly #slots = new Map<number, Slot>();
  readonly #pendingMetrics = new Map<number, (metrics: unknown[]) => void>();
  #nextMetricsId = 0;
  #isStopping = false;
  #proxy: { host: string; port: number } | undefined;
  #admin: Server | undefined;
  #listener: TcpServer | undefined;
  /** What the workers share: their rate limits and their retry model (one per machine). */
  readonly #store = createMemorySharedState(systemClock);
  /** Host, Origin and token checks of the admin listener; the primary's config is the one it started with. */
  readonly #guard: AdminGuard;

  constructor(config: Config) {
    this.#config = config;
    this.#logger = createLogger(config.log.level);
    const listenHost = parseHostPort(config.admin.listenAddress)?.host ?? '127.0.0.1';
    this.#guard = createAdminGuard({ token: config.admin.token, listenHost, allowedHosts: () => config.admin.allowedHosts });
  }

  async start(count: number): Promise<void> {
    this.#proxy = await this.#listenProxy(count);
    const ready = Array.from({ length: count }, (_, index) => this.#fork(index));
    const timer = setTimeout(() => {
      this.#logger.fatal({ timeoutMs: READY_TIMEOUT_MS }, 'workers did not start in time');
      process.exit(1);
    }, READY_TIMEOUT_MS);
    await Promise.all(ready);
    clearTimeout(timer);
    let adminAddress: { host: string; port: number } | undefined;
    if (this.#config.admin.enabled) adminAddress = await this.#listenAdmin();
    process.on('SIGHUP', () => {
      for (const slot of this.#slots.values()) slot.worker.process.kill('SIGHUP');
    });
    process.once('SIGTERM', () => void this.#stop('SIGTERM'));
    process.once('SIGINT', () => void this.#stop('SIGINT'));
    this.#logger.info({ proxy: this.#proxy, admin: adminAddress, workers: count, strategy: this.#config.strategy.algorithm }, 'sibyl is serving');
  }

  /** The proxy listener; connections wait paused until their worker takes them. */
  #listenProxy(count: number): Promise<{ host: string; port: number }> {
    const { host, port } = parseHostPort(this.#config.proxy.listenAddress) ?? { host: '0.0.0.0', port: 0 };
    const listener = createTcpServer({ pauseOnConnect: true }, (socket) => this.#handOut(socket, count));
    this.#listener = listener;
    return new Promise((resolve, reject) => {
      listener.once('error', reject);
      listener.listen({ host, port, backlog: 4096 }, () => {
        const a = listener.address();
        resolve(typeof a === 'object' && a !== null ? { host: a.address, port: a.port } : { host, port });
      });
    });
  }

  /** Sticky by client IP: the worker of the IP's hash, or the next ready one while it restarts. */
  #handOut(socket: Socket, count: number): void {
    const start = fnv1a32(socket.remoteAddress ?? '') % count;
    for (let k = 0; k < count; k++) {
      const slot = this.#slots.get((start + k) % count);
      if (slot?.isReady === true && slot.worker.isConnected()) {
        slot.worker.send({ type: 'connection' } satisfies ToWorker, socket);
        return;
      }
    }
    socket.destroy();
  }

  #fork(index: number): Promise<void> {
    const worker = cluster.fork({ SIBYL_WORKER_INDEX: String(index), SIBYL_PRIMARY_PROXY: JSON.stringify(this.#proxy) });
    this.#logger.info({ worker: index, pid: worker.process.pid }, 'worker started');
    const slot: Slot = { worker, adminPort: undefined, isReady: false };
    this.#slots.set(index, slot);
    return new Promise((resolve) => {
      worker.on('message', (message: FromWorker | SharedRequest) => {
        if (message.type === 'shared') {
          void answerSharedRequest(this.#store, message).then((reply) => {
            if (worker.isConnected()) worker.send(reply);
          });
        } else if (message.type === 'ready') {
          slot.adminPort = message.adminPort;
          slot.isReady = true;
          resolve();
        } else if (message.type === 'metrics') {
          this.#pendingMetrics.get(message.id)?.(message.metrics);
        } else if (message.type === 'probe') {
          // the probing worker's check, for every other worker to apply
          for (const other of this.#slots.values()) if (other !== slot && other.isReady && other.worker.isConnected()) other.worker.send(message);
        }
      });
      worker.on('exit', (code, signal) => {
        slot.isReady = false;
        if (this.#isStopping) return;
        this.#logger.error({ worker: index, code, signal }, 'worker died; starting another');
        void this.#fork(index);
      });
    });
  }

  #readySlots(): Slot[] {
    return [...this.#slots.entries()].sort(([a], [b]) => a - b).map(([, s]) => s).filter((s) => s.isReady);
  }

  #collectMetrics(): Promise<unknown[][]> {
    return Promise.all(
      this.#readySlots().map(
        (slot) =>
          new Promise<unknown[]>((resolve, reject) => {
            const id = this.#nextMetricsId++;
            const timer = setTimeout(() => {
              this.#pendingMetrics.delete(id);
              reject(new Error(`worker ${slot.worker.id} did not answer for metrics`));
            }, METRICS_TIMEOUT_MS);
            this.#pendingMetrics.set(id, (metrics) => {
              clearTimeout(timer);
              this.#pendingMetrics.delete(id);
              resolve(metrics);
            });
            slot.worker.send({ type: 'metrics', id } satisfies ToWorker);
          }),
      ),
    );
  }

  async #listenAdmin(): Promise<{ host: string; port: number }> {
    const { host, port } = parseHostPort(this.#config.admin.listenAddress) ?? { host: '127.0.0.1', port: 0 };
    const server = createServer((req, res) => {
      this.#route(req, res).catch((err: unknown) => {
        this.#logger.error({ err }, 'admin request failed');
        if (!res.headersSent) sendProblem(res, Errors.adminWorkerFailed);
      });
    });
    this.#admin = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host, port }, () => {
        const a = server.address();
        resolve(typeof a === 'object' && a !== null ? { host: a.address, port: a.port } : { host, port });
      });
    });
  }


  async #route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const ready = this.#readySlots();
    if (req.method === 'GET' && path === '/health/live') return sendJson(res, 200, { status: 'alive' });
    if (req.method === 'GET' && path === '/health/ready') {
      const isReady = !this.#isStopping && ready.length === this.#slots.size;
      return sendJson(res, isReady ? 200 : 503, { status: isReady ? 'ready' : 'not ready', isReady, workers: this.#slots.size, readyWorkers: ready.length });
    }
    // the probes, /health and /predict_retry answer any Host; the rest is guarded here as in a worker
    const misdirected = ANY_HOST_PATHS.has(path) ? undefined : this.#guard.misdirected(req);
    if (misdirected !== undefined) return sendProblem(res, Errors.adminMisdirected, misdirected);
    if (this.#guard.isCrossOrigin(req)) return sendProblem(res, Errors.adminCrossOrigin);
    if (req.method === 'GET' && this.#config.metrics.enabled && path === this.#config.metrics.path) {
      if (!this.#guard.isAuthorised(req)) {
        res.setHeader('www-authenticate', 'Bearer');
        return sendProblem(res, Errors.adminUnauthorised);
      }
      const { text, contentType } = await aggregateMetrics(await this.#collectMetrics());
      res.writeHead(200, { 'content-type': contentType });
      return void res.end(text);
    }
    const body = await readBody(req);
    if (body === undefined) return sendProblem(res, Errors.adminBodyTooLarge, `admin request bodies are limited to ${MAX_ADMIN_BODY_BYTES} bytes`);
    const targets = TO_ALL.test(path) && req.method !== 'GET' ? ready : ready.slice(0, 1);
    const ports = targets.map((s) => s.adminPort).filter((p): p is number => p !== undefined);
    if (ports.length === 0) return sendProblem(res, Errors.adminNoWorker);
    // every worker applies it; the first one's answer stands for all
    const answers = await Promise.all(ports.map((p) => forward(p, req, body)));
    const first = answers[0] as Answer;
    const { connection: _connection, 'transfer-encoding': _te, ...headers } = first.headers;
    res.writeHead(first.status, { ...headers, 'content-length': first.body.length });
    res.end(first.body);
  }

  async #stop(signal: string): Promise<void> {
    if (this.#isStopping) return;
    this.#isStopping = true;
    const hardLimitMs = this.#config.runtime.shutdownTimeoutMillis;
    this.#logger.info({ signal, workers: this.#slots.size }, 'draining: every worker finishes its in-flight requests');
    this.#listener?.close();
    setTimeout(() => {
      this.#logger.error({ hardLimitMs }, 'shutdown took too long; exiting');
      process.exit(1);
    }, hardLimitMs).unref();
    const codes = await Promise.all(
      [...this.#slots.values()].map(
        (slot) =>
          new Promise<number | null>((resolve) => {
            if (slot.worker.isDead()) return resolve(slot.worker.process.exitCode);
            slot.worker.once('exit', (code) => resolve(code));
            slot.worker.process.kill('SIGTERM');
          }),
      ),
    );
    await new Promise<void>((r) => (this.#admin === undefined ? r() : this.#admin.close(() => r())));
    this.#admin?.closeAllConnections();
    const isClean = codes.every((c) => c === 0);
    this.#logger.info({ isClean, codes }, 'stopped');
    setTimeout(() => process.exit(isClean ? 0 : 1), 2000).unref();
    this.#logger.flush(() => process.exit(isClean ? 0 : 1));
  }
}
