// A TCP backend for e2e tests that answers with exact bytes (or resets, or stays silent), for
// behaviour a well-behaved node:http backend cannot produce. Health checks are answered 200.
import { listenOnLoopback } from './listen.ts';
import { createServer, type Server, type Socket } from 'node:net';

export interface RawBackend {
  readonly name: string;
  readonly port: number;
  readonly address: string;
  /** Request heads received (health checks excluded), as latin1 text up to the blank line. */
  readonly heads: string[];
  close(): Promise<void>;
}

/**
 * Calls `onRequest` once per non-health request head received on a connection. Request bodies are
 * not parsed: use this only with bodiless requests.
 */
export async function startRawBackend(name: string, onRequest: (socket: Socket, head: string) => void): Promise<RawBackend> {
  const heads: string[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    let buffered = '';
    socket.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('latin1');
      for (let end = buffered.indexOf('\r\n\r\n'); end !== -1; end = buffered.indexOf('\r\n\r\n')) {
        const head = buffered.slice(0, end);
        buffered = buffered.slice(end + 4);
        if (/^GET \/health /.test(head)) {
          socket.write('HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n');
          continue;
        }
        heads.push(head);
        onRequest(socket, head);
      }
    });
  });
  const port = await listenOnLoopback(server);
  return {
    name,
    port,
    address: `127.0.0.1:${port}`,
    heads,
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        for (const s of sockets) s.destroy();
      }),
  };
}

/** A port on loopback that nothing listens on (bound, then released). */
export async function closedPort(): Promise<number> {
  const server = createServer();
  const port = await listenOnLoopback(server);
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}
