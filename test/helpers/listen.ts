// Test servers listen on a free loopback port.
import type { Server } from 'node:net';

/** Listens on 127.0.0.1 with a port the OS picks; resolves with that port. */
export async function listenOnLoopback(server: Server): Promise<number> {
  await new Promise<void>((r) => server.listen({ host: '127.0.0.1', port: 0 }, r));
  return (server.address() as { port: number }).port;
}
