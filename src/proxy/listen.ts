// Binding a listener (HTTP or L4) with a deep accept backlog, resolving with the address it got.
import type { Server } from 'node:net';

export function listenOn(server: Server, host: string, port: number): Promise<{ host: string; port: number }> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port, backlog: 4096 }, () => {
      server.off('error', reject);
      const address = server.address();
      resolve(typeof address === 'object' && address !== null ? { host: address.address, port: address.port } : { host, port });
    });
  });
}
