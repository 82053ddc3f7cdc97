// Raw TCP backends for the TCP (L4) mode's e2e tests: each greets with its name and a newline,
// then echoes what it receives; it records how many connections it accepted and holds open.
import { listenOnLoopback } from './listen.ts';
import { createServer, connect, type Server, type Socket } from 'node:net';

export interface EchoBackend {
  readonly name: string;
  readonly port: number;
  readonly address: string;
  readonly server: Server;
  accepted: number;
  readonly open: Set<Socket>;
  close(): Promise<void>;
}

export async function startEchoBackend(name: string): Promise<EchoBackend> {
  const open = new Set<Socket>();
  const backend = { name, accepted: 0, open } as { -readonly [K in keyof EchoBackend]: EchoBackend[K] };
  const server = createServer({ allowHalfOpen: true }, (socket) => {
    backend.accepted++;
    open.add(socket);
    socket.once('close', () => open.delete(socket));
    socket.on('error', () => socket.destroy());
    socket.write(`${name}\n`);
    socket.pipe(socket);
  });
  const port = await listenOnLoopback(server);
  Object.assign(backend, {
    port,
    address: `127.0.0.1:${port}`,
    server,
    close: () =>
      new Promise<void>((r) => {
        for (const s of open) s.destroy();
        server.close(() => r());
      }),
  });
  return backend;
}

export interface EchoClient {
  readonly socket: Socket;
  /** The greeting's name: which backend Sibyl connected this client to. */
  readonly backend: Promise<string>;
  /** Sends text and resolves with the echo of exactly that many bytes. */
  echo(text: string): Promise<string>;
  /** Resolves when the connection is closed (by either side). */
  readonly closed: Promise<void>;
}

/** A client that connects through the proxy and reads the greeting line. */
export function connectEcho(port: number, timeoutMs = 5000): EchoClient {
  const socket = connect({ host: '127.0.0.1', port });
  let buffer = '';
  const waiters: { need: (b: string) => number; resolve: (s: string) => void }[] = [];
  const pump = (): void => {
    const w = waiters[0];
    if (w === undefined) return;
    const n = w.need(buffer);
    if (n < 0) return;
    waiters.shift();
    const out = buffer.slice(0, n);
    buffer = buffer.slice(n);
    w.resolve(out);
    pump();
  };
  const read = (need: (b: string) => number): Promise<string> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no answer in ${timeoutMs} ms; got ${JSON.stringify(buffer)}`)), timeoutMs);
      waiters.push({ need, resolve: (s) => (clearTimeout(timer), resolve(s)) });
      socket.once('close', () => reject(new Error(`closed; got ${JSON.stringify(buffer)}`)));
      pump();
    });
  socket.setEncoding('utf8');
  socket.on('data', (d: string) => {
    buffer += d;
    pump();
  });
  socket.on('error', () => undefined);
  const closed = new Promise<void>((r) => socket.once('close', () => r()));
  const backend = read((b) => (b.includes('\n') ? b.indexOf('\n') + 1 : -1)).then((line) => line.trim());
  backend.catch(() => undefined);
  return {
    socket,
    backend,
    closed,
    echo(text: string) {
      const answer = read((b) => (b.length >= text.length ? text.length : -1));
      socket.write(text);
      return answer;
    },
  };
}
