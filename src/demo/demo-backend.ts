// A small HTTP service for the demo, the benchmarks and the tests: answers every path with a body
// of a chosen size, /health for health checks, and can be made flaky or slow.
import { createServer, type Server } from 'node:http';
import type { Rng } from '../core/rng.ts';

export interface DemoBackendOptions {
  readonly name: string;
  readonly bodyBytes?: number;
  /** Share of requests answered with failureStatus (0..1). */
  readonly failureRate?: number;
  /** The status of a failed answer (default 503). */
  readonly failureStatus?: number;
  /** Extra latency added to every request, in ms. */
  readonly latencyMs?: number;
}

export interface DemoBackend {
  readonly server: Server;
  readonly port: number;
  close(): Promise<void>;
}

export async function startDemoBackend(options: DemoBackendOptions, rng: Rng, host = '127.0.0.1', port = 0): Promise<DemoBackend> {
  // a JSON body padded to exactly bodyBytes (or the shortest valid one)
  const bare = `{"backend":${JSON.stringify(options.name)},"pad":""}`;
  const pad = 'x'.repeat(Math.max(0, (options.bodyBytes ?? 100) - bare.length));
  const payload = Buffer.from(`{"backend":${JSON.stringify(options.name)},"pad":"${pad}"}`);
  const failureRate = options.failureRate ?? 0;
  const latencyMs = options.latencyMs ?? 0;
  const server = createServer((req, res) => {
    const answer = (): void => {
      if (req.url === '/health') {
        res.writeHead(200, { 'content-type': 'text/plain', 'x-served-by': options.name });
        return void res.end('ok');
      }
      if (failureRate > 0 && rng.next() < failureRate) {
        res.writeHead(options.failureStatus ?? 503, { 'content-type': 'text/plain', 'x-served-by': options.name });
        return void res.end('flaky backend says no');
      }
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': payload.length, 'x-served-by': options.name });
      res.end(payload);
    };
    // drain any request body before answering so keep-alive stays usable
    req.resume();
    req.once('end', () => (latencyMs > 0 ? setTimeout(answer, latencyMs) : answer()));
  });
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve) => server.listen({ host, port }, resolve));
  const address = server.address();
  const boundPort = typeof address === 'object' && address !== null ? address.port : port;
  return {
    server,
    port: boundPort,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
