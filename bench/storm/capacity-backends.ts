// Real capacity-limited HTTP backends for the live retry-storm experiment, one process hosting
// several servers. Each serves `workers` requests at once; the excess waits in a FIFO queue, as a
// thread-pool server's accept queue does. Like the simulator's backends (sim/storm/backend-server.ts)
// a server never notices that a client went away: a queued request is served anyway, and that
// work is counted as waste. Under contention (a long queue) every request gets slower.
// Usage: node bench/storm/capacity-backends.ts --count 3 --workers 8 --service-ms 40 [--backlog 1024]
//        [--service-spread 0.5 (each request takes 1 -/+ spread x the mean)] [--contention 0.5]
// Prints {"ports":[...]} once listening. Control: POST /__control {"capacityFactor","slowFactor",
// "isFailingFast"}; GET /__stats. /health answers at once (a separate cheap handler).
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { parseArgs } from 'node:util';

interface Mode {
  capacityFactor: number;
  slowFactor: number;
  isFailingFast: boolean;
}

interface Job {
  readonly res: ServerResponse;
}

export interface ServiceShape {
  readonly workers: number;
  readonly serviceMs: number;
  /** Each request takes (1 - spread) to (1 + spread) times serviceMs. */
  readonly spread: number;
  /** Service time grows with the queue, up to 1 + contention when the backlog is full (as in the simulator). */
  readonly contention: number;
  readonly backlog: number;
}

const BODY = Buffer.from('{"ok":true}\n');

class CapacityServer {
  readonly #shape: ServiceShape;
  readonly #queue: Job[] = [];
  #running = 0;
  mode: Mode = { capacityFactor: 1, slowFactor: 1, isFailingFast: false };
  readonly stats = { served: 0, wasted: 0, refused: 0, failedFast: 0, maxQueue: 0 };

  constructor(shape: ServiceShape) {
    this.#shape = shape;
  }

  handle(req: IncomingMessage, res: ServerResponse): void {
    req.resume();
    if (this.mode.isFailingFast) {
      this.stats.failedFast++;
      res.writeHead(503, { 'content-type': 'text/plain' }).end('failing\n');
      return;
    }
    if (this.#queue.length >= this.#shape.backlog) {
      // a full accept queue: the connection is refused (here: reset)
      this.stats.refused++;
      req.socket.destroy();
      return;
    }
    this.#queue.push({ res });
    this.stats.maxQueue = Math.max(this.stats.maxQueue, this.#queue.length);
    this.#startWaiting();
  }

  #capacity(): number {
    return Math.max(1, Math.round(this.#shape.workers * this.mode.capacityFactor));
  }

  #startWaiting(): void {
    while (this.#running < this.#capacity() && this.#queue.length > 0) {
      const job = this.#queue.shift() as Job;
      this.#running++;
      const { serviceMs, spread, backlog } = this.#shape;
      const contention = 1 + (this.#shape.contention * this.#queue.length) / backlog;
      const ms = serviceMs * this.mode.slowFactor * contention * (1 - spread + 2 * spread * Math.random());
      setTimeout(() => this.#finish(job), ms);
    }
  }

  #finish(job: Job): void {
    this.#running--;
    if (job.res.destroyed || job.res.socket === null || job.res.socket.destroyed) {
      this.stats.wasted++;
    } else {
      this.stats.served++;
      job.res.writeHead(200, { 'content-type': 'application/json', 'content-length': BODY.length }).end(BODY);
    }
    this.#startWaiting();
  }
}

function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, unknown>);
      } catch (error) {
        reject(error instanceof Error ? error : new Error(String(error)));
      }
    });
  });
}

async function control(server: CapacityServer, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const body = await readJson(req);
  const number = (key: string, fallback: number): number => (typeof body[key] === 'number' ? body[key] : fallback);
  server.mode = {
    capacityFactor: number('capacityFactor', 1),
    slowFactor: number('slowFactor', 1),
    isFailingFast: body.isFailingFast === true,
  };
  res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(server.mode));
}

function route(server: CapacityServer, req: IncomingMessage, res: ServerResponse): void {
  if (req.url === '/health') {
    res.writeHead(200).end('ok\n');
  } else if (req.url === '/__stats') {
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(server.stats));
  } else if (req.url === '/__control' && req.method === 'POST') {
    control(server, req, res).catch((error: unknown) => res.writeHead(400).end(String(error)));
  } else {
    server.handle(req, res);
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      count: { type: 'string', default: '3' },
      workers: { type: 'string', default: '8' },
      'service-ms': { type: 'string', default: '40' },
      backlog: { type: 'string', default: '1024' },
      'service-spread': { type: 'string', default: '0.5' },
      contention: { type: 'string', default: '0.5' },
    },
  });
  const shape: ServiceShape = {
    workers: Number(values.workers),
    serviceMs: Number(values['service-ms']),
    spread: Number(values['service-spread']),
    contention: Number(values.contention),
    backlog: Number(values.backlog),
  };
  for (const [key, value] of Object.entries(shape)) if (!Number.isFinite(value) || value < 0) throw new Error(`capacity-backends: ${key} must be a number >= 0, got ${value}`);
  if (shape.spread > 1) throw new Error('capacity-backends: --service-spread must be <= 1');
  const ports: number[] = [];
  for (let i = 0; i < Number(values.count); i++) {
    const state = new CapacityServer(shape);
    const http = createServer({ keepAliveTimeout: 30_000 }, (req, res) => route(state, req, res));
    await new Promise<void>((resolve) => http.listen({ host: '127.0.0.1', port: 0, backlog: 4096 }, resolve));
    const address = http.address();
    ports.push(typeof address === 'object' && address !== null ? address.port : 0);
  }
  process.stdout.write(`${JSON.stringify({ ports })}\n`);
  process.once('SIGTERM', () => process.exit(0));
}

await main();
