// Real HTTP backends on port 0 for e2e tests, with a record of what each one received.
import { listenOnLoopback } from './listen.ts';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

export interface TestBackend {
  readonly name: string;
  readonly port: number;
  readonly address: string;
  readonly server: Server;
  /** Requests seen (health checks excluded). */
  readonly seen: { method: string; url: string; headers: IncomingMessage['headers']; body: string }[];
  status: number;
  close(): Promise<void>;
}

export async function startTestBackend(name: string, handler?: (req: IncomingMessage, res: ServerResponse, body: string) => void): Promise<TestBackend> {
  const seen: TestBackend['seen'] = [];
  const backend = { name, seen, status: 200 } as { -readonly [K in keyof TestBackend]: TestBackend[K] };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString();
      if (req.url === '/health') {
        res.writeHead(backend.status === 200 ? 200 : 503);
        return void res.end();
      }
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      if (handler !== undefined) return handler(req, res, body);
      res.writeHead(backend.status, { 'content-type': 'text/plain', 'x-served-by': name });
      res.end(`${name}:${req.method}:${req.url}:${body.length}`);
    });
  });
  const port = await listenOnLoopback(server);
  Object.assign(backend, {
    port,
    address: `127.0.0.1:${port}`,
    server,
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  });
  return backend;
}

export function backendsToml(backends: readonly TestBackend[], weights?: readonly number[]): string {
  return backends.map((b, i) => `[[backends]]\nname = "${b.name}"\naddress = "${b.address}"\nweight = ${weights?.[i] ?? 1}\n`).join('\n');
}

/** A backend named "slow" that answers 200 after delayMs, counting the requests it is working on. */
export async function startSlowBackend(delayMs: number): Promise<{ backend: TestBackend; inFlight: () => number }> {
  let inFlight = 0;
  const backend = await startTestBackend('slow', (_req, res) => {
    inFlight++;
    setTimeout(() => {
      inFlight--;
      res.writeHead(200, { 'x-served-by': 'slow' });
      res.end('done');
    }, delayMs);
  });
  return { backend, inFlight: () => inFlight };
}
